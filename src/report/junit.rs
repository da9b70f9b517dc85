//! `junit.xml`: results as JUnit test cases, so CI systems show them natively.

/// One test case.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// Group (JUnit classname), e.g. "slo" or "hypothesis.<probe>".
    pub class: String,
    /// The test case's name: the objective's or the probe's.
    pub name: String,
    /// The failure message with the figures, if it failed.
    pub failure: Option<String>,
    /// The figures of a case that passed (`<system-out>`), if any.
    pub output: Option<String>,
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// Renders a JUnit report of one suite.
pub fn render(suite: &str, cases: &[Case]) -> Vec<u8> {
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"ag06-lab\" tests=\"{}\" failures=\"{failures}\">\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        cases.len(),
        esc(suite),
        cases.len()
    ));
    for c in cases {
        x.push_str(&format!("    <testcase classname=\"{}\" name=\"{}\"", esc(&c.class), esc(&c.name)));
        match (&c.failure, &c.output) {
            (None, None) => x.push_str("/>\n"),
            (Some(m), _) => {
                x.push_str(&format!(">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n", esc(m), esc(m)))
            }
            (None, Some(o)) => x.push_str(&format!(">\n      <system-out>{}</system-out>\n    </testcase>\n", esc(o))),
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x.into_bytes()
}

/// The test cases of a run: one per objective, one per hypothesis probe and phase.
pub fn run_cases(s: &super::Summary) -> Vec<Case> {
    let mut v = Vec::new();
    for slo in &s.slos {
        let achieved = slo.achieved.map(|a| format!("{a}")).unwrap_or_else(|| "n/a (no data)".into());
        let goal = match slo.sli {
            crate::model::summary::Sli::XrunsPerHour => format!("at most {}", slo.objective),
            crate::model::summary::Sli::MaxDropout => format!("at most {} ms", slo.threshold_ms.unwrap_or(0.0)),
            _ => format!("objective {}", slo.objective),
        };
        v.push(Case {
            class: "slo".into(),
            name: slo.name.clone(),
            failure: (!slo.met).then(|| format!("{} of {}: achieved {achieved}, {goal}", slo.sli, slo.service)),
            output: None,
        });
    }
    if let Some(h) = &s.hypothesis {
        for p in &h.probes {
            for c in &p.phases {
                let tol = match (p.min, p.max) {
                    (Some(a), Some(b)) => format!("{a} <= {} <= {b}", p.metric),
                    (Some(a), None) => format!("{} >= {a}", p.metric),
                    (None, Some(b)) => format!("{} <= {b}", p.metric),
                    (None, None) => p.metric.to_string(),
                };
                v.push(Case {
                    class: format!("hypothesis.{}", p.name),
                    name: c.phase.to_string(),
                    failure: (!c.ok).then(|| {
                        format!(
                            "{} of {}: worst window {} over {} windows, tolerance {tol}",
                            p.metric,
                            p.target,
                            c.value.map(|x| x.to_string()).unwrap_or_else(|| "n/a".into()),
                            c.windows
                        )
                    }),
                    output: None,
                });
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_counts() {
        let xml = String::from_utf8(render(
            "<script>",
            &[
                Case { class: "slo".into(), name: "a & b".into(), failure: None, output: None },
                Case { class: "slo".into(), name: "c".into(), failure: Some("1 < 2 \"q\"".into()), output: None },
            ],
        ))
        .unwrap();
        assert!(xml.contains("tests=\"2\" failures=\"1\""));
        assert!(xml.contains("name=\"&lt;script&gt;\""));
        assert!(xml.contains("name=\"a &amp; b\"/>"));
        assert!(xml.contains("message=\"1 &lt; 2 &quot;q&quot;\""));
    }
}
