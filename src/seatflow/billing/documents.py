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

    if st.has_hours:  # a billed-by column, the hours, and the price is a unit price or an hourly rate
        header = [_(N_("Project")), _(N_("Billed by")), _(N_("Units delivered")), _(N_("Hours")),
                  _(N_("Unit price or hourly rate")), _(N_("Amount")), _(N_("Reworked (counted once)")),
                  _(N_("Gold answers (not billed)"))]
        rows = [[f"{line.name} ({line.project})", _(N_("by time")) if line.by_hours else _(N_("per unit")),
                 num(line.units), money(line.hours) if line.hours is not None else "-",
                 money(line.hourly_rate if line.by_hours else line.unit_price), money(line.amount),
                 num(line.reworked), num(line.gold_answers)] for line in st.lines]
        rows.append([_(N_("Total")), "", num(st.total_units), money(st.total_hours), "", money(st.total_amount),
                     num(sum(x.reworked for x in st.lines)), num(sum(x.gold_answers for x in st.lines))])
        numeric: tuple[int, ...] = (2, 3, 4, 5, 6, 7)
    else:
        header = [_(N_("Project")), _(N_("Units delivered")), _(N_("Unit price")), _(N_("Amount")),
                  _(N_("Reworked (counted once)")), _(N_("Gold answers (not billed)"))]
        rows = [[f"{line.name} ({line.project})", num(line.units), money(line.unit_price), money(line.amount),
                 num(line.reworked), num(line.gold_answers)] for line in st.lines]
        rows.append([_(N_("Total")), num(st.total_units), "", money(st.total_amount),
                     num(sum(x.reworked for x in st.lines)), num(sum(x.gold_answers for x in st.lines))])
        numeric = (1, 2, 3, 4, 5)
    lines = [
        _(N_("Client: %(name)s (%(slug)s)")) % {"name": st.client_name, "slug": st.client},
        _(N_("Period: %(start)s to %(end)s (%(zone)s, end excluded)")) % {
            "start": st.month.first_day.isoformat(), "end": st.month.end_day.isoformat(), "zone": st.month.zone},
        _(N_("Total: %(amount)s %(currency)s for %(units)s delivered units")) % {
            "amount": money(st.total_amount), "currency": st.currency, "units": num(st.total_units)},
    ]
    footer = _(N_("An item is billed once, in the month it was delivered; rework adds nothing and gold "
                  "(quality control) items are never billed. Amounts in %(currency)s.")) % {"currency": st.currency}
    if st.has_hours:
        lines.append(_(N_("Billed by time: %(hours)s hours")) % {"hours": money(st.total_hours)})
        footer += " " + _(N_("A project billed by time is billed the handling hours of the answers first given in "
                             "the month (rework answers, gold items and review time are not billed), rounded to "
                             "2 decimals, times its hourly rate."))
    return pdf.render(
        title=_(N_("Statement")) + f" · {st.client_name} · {st.month.label}",
        lines=lines,
        tables=[pdf.PdfTable(heading=_(N_("Units and hours per project")) if st.has_hours
                             else _(N_("Delivered units per project")), header=header, rows=rows,
                             numeric=numeric, total_row=True,
                             # 8 columns: a narrower project column and padding, so 999,999.99 fits
                             **({"first_share": 0.22, "padding": 4.0} if st.has_hours else {}))],
        footer=footer,
    )
