"""Filters of the PDF report: times and enum values as a person reads them (report/presentation.py)."""
from django import template

from reports import presentation

register = template.Library()


@register.filter
def report_time(value):
    return presentation.when(value)


@register.filter
def report_label(value):
    return presentation.label(value)


@register.filter
def report_person(value, labels):
    return labels.person(value) if labels else (value or "—")
