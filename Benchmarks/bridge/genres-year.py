#!/usr/bin/env python3
"""MovieLens-100K item vectors: the 19 genre indicators plus the standardised release year (the
issue-13 content), as a TSV for `timbre embeddings import FILE --name genres-year`.

usage: genres-year.py ML_DIR > genres-year.tsv   (ML_DIR: what scripts/fetch-movielens prints)
A missing year gets the mean (0 after standardising). Standard library only."""
import statistics
import sys

rows = []
with open(f"{sys.argv[1]}/ml-100k.item", encoding="utf-8", errors="replace") as f:
    header = f.readline().rstrip("\n").split("\t")
    col = {name.split(":")[0]: k for k, name in enumerate(header)}
    for line in f:
        parts = line.rstrip("\n").split("\t")
        year = parts[col["release_year"]].strip()
        rows.append((parts[col["item_id"]], float(year) if year.isdigit() else None, parts[col["class"]].split()))
genres = sorted({g for _, _, gs in rows for g in gs})
years = [y for _, y, _ in rows if y is not None]
mean, sd = statistics.fmean(years), statistics.pstdev(years)
print("\t".join(["item"] + [f"genre_{g}" for g in genres] + ["year"]))
for item, year, gs in rows:
    z = 0.0 if year is None else (year - mean) / sd
    print("\t".join([item] + ["1" if g in gs else "0" for g in genres] + [f"{z:.6f}"]))
