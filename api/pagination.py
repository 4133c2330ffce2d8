"""Limit/offset pagination with the total count, the same shape on every list."""
from typing import Annotated, Generic, TypeVar

from ninja import Field, Schema

T = TypeVar("T")
MAX_LIMIT = 500


class PageParams(Schema):
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description=f"Items per page, at most {MAX_LIMIT}.")
    offset: int = Field(0, ge=0, le=10_000_000)


class Page(Schema, Generic[T]):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[T]


def paginate(queryset, page: PageParams, serialize, *, prepare=list) -> dict:
    """One COUNT and one page query; `prepare` may add to the page's rows (a query for all of them)."""
    count = queryset.count()
    rows = prepare(queryset[page.offset:page.offset + page.limit])
    following = page.offset + len(rows)
    return {"count": count, "limit": page.limit, "offset": page.offset,
            "next_offset": following if following < count else None, "items": [serialize(r) for r in rows]}


# Path ids and version numbers within what PostgreSQL stores (bigint ids, integer versions): a larger
# number is a 422 from the schema, never a database error.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Number = Annotated[int, Field(ge=1, le=2**31 - 1)]
