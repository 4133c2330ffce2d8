"""Pages of the checklists app, one module per feature: releases (dashboard, release page, live view),
items, evidence, comments, bulk changes, templates. Sign-off has its own in checklists/signoff/."""
