"""The statement as a printed document (PDF), in the reader's language."""

from __future__ import annotations

from babel.numbers import format_decimal

from seatflow.i18n import translations

from . import pdf
from .service import Statement

BABEL = {"zh_CN": "zh_Hans_CN", "en": "en"}


def N_(message: str) -> str:
    return message


def statement_pdf(st: Statement, locale: str) -> bytes:
    _ = translations(locale).gettext
    loc = BABEL.get(locale, "en")

    def num(n: object) -> str:
        return format_decimal(n, locale=loc)  # type: ignore[arg-type]

    def money(n: object) -> str:
        return format_decimal(n, format="#,##0.00", locale=loc, decimal_quantization=True)  # type: ignore[arg-type]

    header = [_(N_("Project")), _(N_("Units delivered")), _(N_("Unit price")), _(N_("Amount")),
              _(N_("Reworked (counted once)")), _(N_("Gold answers (not billed)"))]
    rows = [[f"{line.name} ({line.project})", num(line.units), money(line.unit_price), money(line.amount),
             num(line.reworked), num(line.gold_answers)] for line in st.lines]
    rows.append([_(N_("Total")), num(st.total_units), "", money(st.total_amount),
                 num(sum(x.reworked for x in st.lines)), num(sum(x.gold_answers for x in st.lines))])
    return pdf.render(
        title=_(N_("Statement")) + f" · {st.client_name} · {st.month.label}",
        lines=[
            _(N_("Client: %(name)s (%(slug)s)")) % {"name": st.client_name, "slug": st.client},
            _(N_("Period: %(start)s to %(end)s (UTC, end excluded)")) % {
                "start": st.month.start.date().isoformat(), "end": st.month.end.date().isoformat()},
            _(N_("Total: %(amount)s %(currency)s for %(units)s delivered units")) % {
                "amount": money(st.total_amount), "currency": st.currency, "units": num(st.total_units)},
        ],
        tables=[pdf.PdfTable(heading=_(N_("Delivered units per project")), header=header, rows=rows,
                             numeric=(1, 2, 3, 4, 5), total_row=True)],
        footer=_(N_("An item is billed once, in the month it was delivered; rework adds nothing and gold "
                    "(quality control) items are never billed. Amounts in %(currency)s.")) % {"currency": st.currency},
    )
