"""Every export the server can make, by the name its links and the CLI use."""

from __future__ import annotations

from cmgraph.exchange.actions_sheet import IMPROVEMENT_ACTIONS
from cmgraph.exchange.assessment_report import ASSESSMENT_REPORT
from cmgraph.exchange.downloads import ExportKind
from cmgraph.exchange.histories import TESTING_HISTORY, USER_HISTORY
from cmgraph.exchange.oscal_results import OSCAL_RESULTS
from cmgraph.exchange.template_workbook import TEMPLATE_WORKBOOK

EXPORT_KINDS: dict[str, ExportKind] = {
    kind.name: kind
    for kind in (
        IMPROVEMENT_ACTIONS,
        ASSESSMENT_REPORT,
        TESTING_HISTORY,
        USER_HISTORY,
        OSCAL_RESULTS,
        TEMPLATE_WORKBOOK,
    )
}
