//! [`FunctionDoc`]: one SQL function's documentation as `fleetops functions`
//! lists it, read from the DataFusion [`Documentation`] that the function's
//! own file declares with `#[user_doc]`.
//!
//! A function's `description` has two paragraphs, separated by a blank line:
//! what the function computes, then exactly when its result is NULL.

use datafusion::logical_expr::Documentation;

/// The documentation of one SQL function, split into the parts a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FunctionDoc {
    /// The SQL name.
    pub name: &'static str,
    /// `"scalar"`, `"aggregate"` or `"table"`.
    pub kind: &'static str,
    /// Arguments and result type, e.g. `is_failed(status: string) -> Boolean`.
    pub signature: &'static str,
    /// What the function computes.
    pub description: &'static str,
    /// Exactly when the result is NULL.
    pub null_behaviour: &'static str,
    /// A SQL example with its result.
    pub example: &'static str,
}

impl FunctionDoc {
    /// The parts of `doc`: the description's last paragraph is the NULL
    /// behaviour (empty when the description has a single paragraph).
    pub(super) fn new(name: &'static str, kind: &'static str, doc: &'static Documentation) -> Self {
        let (description, null_behaviour) = doc
            .description
            .rsplit_once("\n\n")
            .unwrap_or((doc.description.as_str(), ""));
        FunctionDoc {
            name,
            kind,
            signature: &doc.syntax_example,
            description: description.trim(),
            null_behaviour: null_behaviour.trim(),
            example: doc.sql_example.as_deref().unwrap_or_default(),
        }
    }
}
