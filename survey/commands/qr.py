"""``survey qr``: the QR code of a counter as PNG or SVG, or its A5 poster as PDF (one page per counter)."""

from __future__ import annotations

from pathlib import Path

import click

from survey.commands import run

__all__ = ["register"]


@click.command("qr")
@click.option("--counter", "counter_code", default=None, help="Counter code, e.g. HN-BD-Q1.")
@click.option("--unit", "unit_code", default=None, help="Unit code, with --all: every counter of the unit and below.")
@click.option("--all", "all_counters", is_flag=True, help="With --unit: one PDF with a poster page per counter.")
@click.option("--format", "output_format", type=click.Choice(["png", "svg", "pdf"]), default="pdf", show_default=True,
              help="png or svg: the bare QR code; pdf: the A5 poster to print.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: var/qr/<code>.<format>).")
def qr(counter_code: str | None, unit_code: str | None, all_counters: bool, output_format: str,
       output: Path | None) -> None:
    """Make the QR code or A5 poster of a counter (its survey at BASE_URL/q/CODE).

    \b
    survey qr --counter HN-BD-Q1 --format pdf
    survey qr --counter HN-BD-Q1 --format svg --output quay1.svg
    survey qr --unit HN-BD --all                 # one PDF, a page per counter
    """
    from delivery.qr import qr_png, qr_svg
    from survey.services.counters import counter_card, counter_url, unit_counters
    from survey.services.posters import poster_pdf
    from survey.settings import get_settings

    if bool(counter_code) == bool(unit_code):
        raise click.UsageError("give either --counter CODE or --unit CODE --all")
    if unit_code and not all_counters:
        raise click.UsageError("--unit makes a poster per counter: add --all (or give one --counter)")
    if all_counters and not unit_code:
        raise click.UsageError("--all goes with --unit CODE")
    if unit_code and output_format != "pdf":
        raise click.BadParameter("--unit --all makes one PDF; use --counter for PNG or SVG", param_hint="--format")

    if unit_code:
        try:
            cards = run(unit_counters(unit_code))
        except LookupError as error:
            raise click.BadParameter(str(error), param_hint="--unit") from None
        if not cards:
            raise click.ClickException(f"unit {unit_code} has no active counter")
        name = unit_code
    else:
        assert counter_code is not None
        card = run(counter_card(counter_code))
        if card is None:
            from survey.tables import Counter

            known = [r["code"] for r in run(Counter.select(Counter.code).order_by(Counter.code).run())]
            shown = ", ".join(known[:12]) + (f", ... ({len(known)} in all)" if len(known) > 12 else "")
            raise click.BadParameter(f"unknown counter {counter_code!r}; known counters: {shown or 'none'}",
                                     param_hint="--counter")
        cards = [card]
        name = card.code

    target = output or get_settings().var_dir / "qr" / f"{name}.{output_format}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if output_format == "png":
        target.write_bytes(qr_png(counter_url(name)))
    elif output_format == "svg":
        target.write_text(qr_svg(counter_url(name)), encoding="utf-8")
    else:
        target.write_bytes(poster_pdf(cards))
    what = f"{len(cards)} poster page(s)" if output_format == "pdf" else f"QR code of {counter_url(name)}"
    click.echo(f"{target}: {what}")


def register(main: click.Group) -> None:
    """Add ``qr`` to ``main``."""
    main.add_command(qr)
