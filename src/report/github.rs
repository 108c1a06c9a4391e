//! GitHub Actions step outputs: the `name=value` lines a step appends to
//! `$GITHUB_OUTPUT`, from a check report. Pure, like the rest of `report`.

use crate::check::CheckReport;

/// `drift-detected` and `pending-detected` (`true`/`false`), then each
/// `(name, value)` of `extra` (such as the paths of the files written).
/// A value with a line break is left out: it would forge another output.
pub fn outputs(report: &CheckReport, extra: &[(&str, String)]) -> String {
    let s = &report.summary;
    let mut out = format!(
        "drift-detected={}\npending-detected={}\n",
        s.drifted > 0,
        s.pending > 0 || s.not_deployed > 0
    );
    for (name, value) in extra {
        if !value.contains(['\n', '\r']) {
            out.push_str(&format!("{name}={value}\n"));
        }
    }
    out
}
