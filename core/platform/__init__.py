"""What every domain stands on: process config, errors, who may do what (access), staff login and
sessions, login throttling and rate limits, the audit log's writer, village settings, input cleaning,
safe images, spreadsheets and PDFs. Imports nothing else from core."""
