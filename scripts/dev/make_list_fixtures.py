#!/usr/bin/env python3
"""Writes the .xls and .ods code lists under crates/core/tests/fixtures/ (xlwt, odfpy).
Run from the repository root: python3 scripts/dev/make_list_fixtures.py"""
import xlwt
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableRow, TableCell
from odf.text import P

ROWS = [("Mã hố", "Note"), ("HC-1042", "a"), (1042.0, "number"), ("  PEN-20-0033 ", "trim"), ("hc-1042", "dup"), ("", "empty"), (7.5, "fraction")]

wb = xlwt.Workbook()
ws = wb.add_sheet("Codes")
for r, row in enumerate(ROWS):
    for c, v in enumerate(row):
        if v != "":
            ws.write(r, c, v)
wb.save("crates/core/tests/fixtures/codes.xls")

doc = OpenDocumentSpreadsheet()
t = Table(name="Codes")
for row in ROWS:
    tr = TableRow()
    for v in row:
        if isinstance(v, float):
            cell = TableCell(valuetype="float", value=v)
            cell.addElement(P(text=("%g" % v)))
        else:
            cell = TableCell(valuetype="string")
            if v:
                cell.addElement(P(text=v))
        tr.addElement(cell)
    t.addElement(tr)
doc.spreadsheet.addElement(t)
doc.save("crates/core/tests/fixtures/codes.ods")
