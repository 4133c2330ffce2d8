"""Sign-off: requirements, approvals and waivers (services.py, waivers.py), the approver's review
(review.py), and their pages (views.py, urls.py, forms.py; templates/signoff/). The report that
proves it all lives in the reports app, above this one and the probes."""
