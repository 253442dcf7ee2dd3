//! Operation status vocabulary, shared by the ingester and the SQL functions.
//!
//! Graph documents the values in lowercase on one page, PascalCase on another
//! and "succeeded" in the action pages; everything funnels through [`normalize`].

/// The canonical status values (README "Input").
pub const QUEUED: &str = "queued";
pub const SCHEDULED: &str = "scheduled";
pub const IN_PROGRESS: &str = "inProgress";
pub const SUCCESSFUL: &str = "successful";
pub const CANCELLED: &str = "cancelled";
pub const FAILED: &str = "failed";

/// A status after normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Queued,
    Scheduled,
    InProgress,
    Successful,
    Cancelled,
    Failed,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 6] = [
        Status::Queued,
        Status::Scheduled,
        Status::InProgress,
        Status::Successful,
        Status::Cancelled,
        Status::Failed,
    ];

    /// Parses a status case-insensitively, with the aliases `succeeded` and
    /// `canceled`. `None` for any other text (kept verbatim by the ingester).
    pub fn parse(text: &str) -> Option<Status> {
        // Dispatch on length first: this runs once per row in the SQL functions.
        let t = text.as_bytes();
        // The stored `status` column holds the canonical spellings: compared
        // as they are, they cost a fraction of a case-insensitive comparison.
        let exact = match t {
            b"failed" => Some(Status::Failed),
            b"successful" => Some(Status::Successful),
            b"inProgress" => Some(Status::InProgress),
            b"queued" => Some(Status::Queued),
            b"scheduled" => Some(Status::Scheduled),
            b"cancelled" => Some(Status::Cancelled),
            _ => None,
        };
        if exact.is_some() {
            return exact;
        }
        let eq = |s: &str| t.eq_ignore_ascii_case(s.as_bytes());
        match t.len() {
            6 if eq("queued") => Some(Status::Queued),
            6 if eq("failed") => Some(Status::Failed),
            8 if eq("canceled") => Some(Status::Cancelled),
            9 if eq("scheduled") => Some(Status::Scheduled),
            9 if eq("cancelled") => Some(Status::Cancelled),
            9 if eq("succeeded") => Some(Status::Successful),
            10 if eq("inprogress") => Some(Status::InProgress),
            10 if eq("successful") => Some(Status::Successful),
            _ => None,
        }
    }

    /// The canonical spelling stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => QUEUED,
            Status::Scheduled => SCHEDULED,
            Status::InProgress => IN_PROGRESS,
            Status::Successful => SUCCESSFUL,
            Status::Cancelled => CANCELLED,
            Status::Failed => FAILED,
        }
    }

    /// Successful, failed or cancelled: the operation will not change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Successful | Status::Failed | Status::Cancelled
        )
    }

    /// Queued, scheduled or in progress.
    pub fn is_in_flight(self) -> bool {
        matches!(
            self,
            Status::Queued | Status::Scheduled | Status::InProgress
        )
    }
}

/// Normalises a raw status: the canonical spelling when recognised, else the
/// text unchanged (an unseen value is data, never dropped).
pub fn normalize(raw: &str) -> &str {
    match Status::parse(raw) {
        Some(s) => s.as_str(),
        None => raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_case() {
        assert_eq!(normalize("Successful"), "successful");
        assert_eq!(normalize("SUCCEEDED"), "successful");
        assert_eq!(normalize("Canceled"), "cancelled");
        assert_eq!(normalize("inprogress"), "inProgress");
        assert_eq!(normalize("InProgress"), "inProgress");
        assert_eq!(normalize("unknownFutureValue"), "unknownFutureValue");
        assert_eq!(normalize(""), "");
        assert!(Status::parse("FAILED").unwrap().is_terminal());
        assert!(Status::parse("queued").unwrap().is_in_flight());
    }
}
