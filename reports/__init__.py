"""The sign-off report: canonical JSON content and its manifest, the PDF and Markdown renderings,
verification against the database, and the auditor's offline evidence bundle."""
