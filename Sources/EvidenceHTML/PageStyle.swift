/// The page's only style sheet, inline: readable on a screen, and on paper (A4, no colours
/// needed to tell states apart: every state is also written out).
enum PageStyle {
    static let css = """
    :root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #57606a; }
    body { font-family: "DejaVu Sans", system-ui, sans-serif; font-size: 14px; color: #1f2328; margin: 24px auto; max-width: 980px; padding: 0 16px; }
    h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 20px; border-bottom: 2px solid #d0d7de; padding-bottom: 4px; margin-top: 36px; }
    h3 { font-size: 16px; margin-top: 24px; }
    table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 12.5px; }
    th, td { border: 1px solid #d0d7de; padding: 3px 6px; text-align: left; vertical-align: top; }
    th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
    code, .mono { font-family: "DejaVu Sans Mono", monospace; font-size: 12px; word-break: break-all; }
    .verdict { padding: 10px 14px; border-radius: 6px; font-weight: bold; margin: 12px 0; }
    .verdict.ok { background: #dafbe1; color: var(--ok); } .verdict.bad { background: #ffebe9; color: var(--bad); }
    .state-sealed, .good { color: var(--ok); } .state-tombstone { color: var(--muted); }
    .state-object-missing, .state-unverifiable, .bad { color: var(--bad); font-weight: bold; } .warn { color: var(--warn); }
    .muted { color: var(--muted); } ul.findings li { margin: 3px 0; }
    svg.chart { width: 100%; height: auto; display: block; margin: 6px 0; }
    svg .axis { font-size: 11px; fill: #57606a; } svg .axisline { stroke: #8c959f; stroke-width: 1; }
    svg .gap { fill: #ffcecb; } svg .mark { stroke: #fff; stroke-width: 1; }
    svg .mark.sealed { fill: var(--ok); } svg .mark.tombstone { fill: #8c959f; } svg .mark.object-missing, svg .mark.unverifiable { fill: var(--bad); }
    svg .mark.drilled { stroke: #0969da; stroke-width: 2.5; }
    svg .series { fill: none; stroke-width: 2; } svg .point.flagged { fill: var(--bad); stroke: #fff; }
    .c0 { stroke: #0969da; fill: #0969da; } .swatch.c0 { background: #0969da; } .c1 { stroke: #bf3989; fill: #bf3989; } .swatch.c1 { background: #bf3989; } .c2 { stroke: #1a7f37; fill: #1a7f37; } .swatch.c2 { background: #1a7f37; }
    .c3 { stroke: #9a6700; fill: #9a6700; } .swatch.c3 { background: #9a6700; } .c4 { stroke: #8250df; fill: #8250df; } .swatch.c4 { background: #8250df; } .c5 { stroke: #0a3069; fill: #0a3069; } .swatch.c5 { background: #0a3069; }
    .c6 { stroke: #bc4c00; fill: #bc4c00; } .swatch.c6 { background: #bc4c00; } .c7 { stroke: #57606a; fill: #57606a; } .swatch.c7 { background: #57606a; }
    .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 4px; vertical-align: middle; border: 0; }
    .legend span.item { margin-right: 14px; white-space: nowrap; }
    footer { margin-top: 40px; font-size: 12px; color: var(--muted); border-top: 1px solid #d0d7de; padding-top: 8px; }
    @page { size: A4; margin: 14mm; }
    @media print {
      body { margin: 0; max-width: none; font-size: 11px; }
      h2 { break-before: page; } h2.first { break-before: avoid; }
      table, svg.chart, .verdict { break-inside: avoid; }
      tr { break-inside: avoid; }
      * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
    }
    """
}
