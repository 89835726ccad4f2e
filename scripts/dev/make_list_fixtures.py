#!/usr/bin/env python3
"""Writes the .xls, .ods and .xlsx code lists under crates/core/tests/fixtures/ (xlwt, odfpy,
openpyxl): the list rule's fixtures, and hostile lists as these tools write them (one cell far
from the others, cells repeated over the whole sheet, one cell of 90 MB).
Run from the repository root: python3 scripts/dev/make_list_fixtures.py"""
import openpyxl
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

# A code in A2, and one cell at the last row and column each format has.
wb = openpyxl.Workbook()
ws = wb.active
ws["A1"] = "Hole Code"
ws["A2"] = "HC-1"
ws["XFD1048576"] = "x"
wb.save("crates/core/tests/fixtures/far_cell.xlsx")

# The same without a code: the workbook that aborted the process when sheets were read whole.
wb = openpyxl.Workbook()
ws = wb.active
ws["A1"] = "Hole Code"
ws["XFD1048576"] = "x"
wb.save("crates/core/tests/fixtures/far_cell_only.xlsx")

wb = openpyxl.Workbook()
ws = wb.active
ws["A1"] = "Hole Code"
ws["A2"] = "A" * 90_000_000  # openpyxl keeps 32,767 characters of it
wb.save("crates/core/tests/fixtures/long_cell.xlsx")

wb = xlwt.Workbook()
ws = wb.add_sheet("Codes")
ws.write(0, 0, "Hole Code")
ws.write(1, 0, "HC-1")
ws.write(65535, 255, "x")
wb.save("crates/core/tests/fixtures/far_cell.xls")


def repeated_ods(path, far_column):
    """Codes in column A, then a block of cells repeated over every row and column left:
    in column B onwards, or (far_column False) in column A itself."""
    doc = OpenDocumentSpreadsheet()
    t = Table(name="Codes")
    for v in ("Hole Code", "HC-1", "HC-2"):
        tr = TableRow()
        cell = TableCell(valuetype="string")
        cell.addElement(P(text=v))
        tr.addElement(cell)
        t.addElement(tr)
    # To the last row (1,048,576), or one past it.
    tr = TableRow(numberrowsrepeated=1048573 if far_column else 1048574)
    if far_column:
        tr.addElement(TableCell())
    cell = TableCell(valuetype="string", numbercolumnsrepeated=16383)
    cell.addElement(P(text="x"))
    tr.addElement(cell)
    t.addElement(tr)
    doc.spreadsheet.addElement(t)
    doc.save(path)


repeated_ods("crates/core/tests/fixtures/repeated_far.ods", True)
repeated_ods("crates/core/tests/fixtures/repeated_in_codes.ods", False)
