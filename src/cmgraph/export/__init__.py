"""Exchange formats: spreadsheets, template workbooks and OSCAL, all through domain services."""
