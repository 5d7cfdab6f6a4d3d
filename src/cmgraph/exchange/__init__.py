"""Files in and out: spreadsheets, template workbooks and OSCAL, all through domain services.

One package for both directions: the sheet an export writes is the sheet its import reads.
"""
