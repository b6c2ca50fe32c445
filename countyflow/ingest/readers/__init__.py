"""Format readers behind `countyflow.ingest.read.read_submission`.

`text` decodes bytes, `headers` recognises column headers, `grid` turns a sheet of text
cells into a `ParsedSubmission` (shared by CSV and XLSX), and `csv_file`, `xlsx_file`,
`json_file` read one format each.
"""
