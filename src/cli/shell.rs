//! The interactive SQL shell of `fleetops sql` (no QUERY given).
//!
//! Statements end with `;` and may span lines; backslash commands (`\d`,
//! `\q`, ...) take one line. On a terminal the shell edits lines and keeps a
//! history; with statements piped in it reads them the same way without
//! prompts and exits non-zero when any of them failed.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Fields, Schema, TimeUnit};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::dialect::{Dialect, GenericDialect, dialect_from_str};
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Editor, Helper};
use tokio::runtime::Runtime;

use super::one_line;
use super::sql::{Outcome, execute, is_broken_pipe, parse_statements, write_outcome};
use crate::error::{Error, Result};
use crate::output::OutputFormat;

const HELP: &str = "\
Statements end with ';' and may span lines. Commands:
  \\d               list the tables
  \\d NAME          describe a table: columns (struct fields as parent.child), types, nullability
  \\format FORMAT   print results as table, csv, json or ndjson
  \\?               this help
  \\q               quit (also Ctrl-D)
Tables: operations (one row per operation) and rejects (records ingest could not take).
`fleetops functions` documents the SQL functions fleetops adds.";

/// Runs the shell until `\q` or the end of input.
pub fn run(rt: &Runtime, ctx: &SessionContext, format: OutputFormat) -> Result<ExitCode> {
    let mut shell = Shell {
        rt,
        ctx,
        format,
        failures: 0,
        closed: false,
    };
    if std::io::stdin().is_terminal() {
        shell.interactive()?;
        Ok(ExitCode::SUCCESS)
    } else {
        shell.piped()?;
        Ok(if shell.failures == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

/// What the shell does after a command.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Continue,
    Quit,
}

struct Shell<'a> {
    rt: &'a Runtime,
    ctx: &'a SessionContext,
    format: OutputFormat,
    failures: usize,
    /// Stdout was closed by its reader: stop quietly.
    closed: bool,
}

impl Shell<'_> {
    fn dialect(&self) -> Box<dyn Dialect> {
        let state = self.ctx.state();
        dialect_from_str(state.config().options().sql_parser.dialect)
            .unwrap_or_else(|| Box::new(GenericDialect {}))
    }

    /// Reads statements from a terminal with line editing and history.
    fn interactive(&mut self) -> Result<()> {
        let mut editor: Editor<ShellHelper, DefaultHistory> = Editor::new()
            .map_err(|e| Error::BadArgument(format!("cannot start the shell: {e}")))?;
        editor.set_helper(Some(ShellHelper {
            dialect: self.dialect(),
            words: self.completion_words(),
        }));
        let history = history_file();
        if let Some(h) = &history {
            let _ = editor.load_history(h);
        }
        eprintln!(
            "fleetops {}: tables operations and rejects. Statements end with ';'. \\? for help, \\q to quit.",
            env!("CARGO_PKG_VERSION")
        );
        loop {
            match editor.readline("fleetops> ") {
                Ok(input) => {
                    let trimmed = input.trim();
                    if trimmed.is_empty() {
                        continue;
                    }
                    let _ = editor.add_history_entry(trimmed);
                    if self.input(trimmed) == Next::Quit || self.closed {
                        break;
                    }
                }
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => break,
                Err(e) => {
                    if let Some(h) = &history {
                        let _ = editor.save_history(h);
                    }
                    return Err(Error::BadArgument(format!("cannot read input: {e}")));
                }
            }
        }
        if let Some(h) = &history {
            let _ = editor.save_history(h);
        }
        Ok(())
    }

    /// Reads statements from piped stdin, without prompts.
    fn piped(&mut self) -> Result<()> {
        let dialect = self.dialect();
        let stdin = std::io::stdin();
        let mut buf = String::new();
        for line in stdin.lock().lines() {
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    self.fail(&Error::io("<stdin>", e));
                    return Ok(());
                }
            };
            if buf.trim().is_empty() {
                let trimmed = line.trim();
                if is_command(trimmed) {
                    buf.clear();
                    if self.input(trimmed) == Next::Quit || self.closed {
                        return Ok(());
                    }
                    continue;
                }
            }
            buf.push_str(&line);
            buf.push('\n');
            if statement_complete(dialect.as_ref(), &buf) {
                self.sql(&buf);
                buf.clear();
                if self.closed {
                    return Ok(());
                }
            }
        }
        if !buf.trim().is_empty() {
            self.sql(&buf);
        }
        Ok(())
    }

    /// A complete input: a command or SQL ending with `;`.
    fn input(&mut self, input: &str) -> Next {
        if is_command(input) {
            self.command(input)
        } else {
            self.sql(input);
            Next::Continue
        }
    }

    fn fail(&mut self, e: &Error) {
        if is_broken_pipe(e) {
            self.closed = true;
            return;
        }
        self.failures += 1;
        let _ = std::io::stdout().flush();
        let _ = writeln!(std::io::stderr(), "fleetops: error: {}", one_line(e));
    }

    /// Runs each statement of `sql` and prints its result; stops at the first error.
    fn sql(&mut self, sql: &str) {
        let statements = match parse_statements(self.ctx, sql) {
            Ok(s) => s,
            Err(e) => return self.fail(&e),
        };
        for statement in statements {
            let result = self.rt.block_on(execute(self.ctx, statement));
            let printed = result.and_then(|o| self.print(&o));
            if let Err(e) = printed {
                return self.fail(&e);
            }
        }
    }

    /// Prints a result; for a table, with the row count and time after it
    /// (for other formats that line goes to stderr, so stdout stays data).
    fn print(&self, outcome: &Outcome) -> Result<()> {
        let mut out = std::io::BufWriter::new(std::io::stdout());
        let rows = outcome.rows();
        // A table on a terminal shows the first rows only: a stray
        // `SELECT *` over millions of operations stays readable.
        let shown = match self.format {
            OutputFormat::Table if rows > TERMINAL_ROWS && std::io::stdout().is_terminal() => {
                Some(first_rows(outcome, TERMINAL_ROWS))
            }
            _ => None,
        };
        if !outcome.is_empty_statement() {
            write_outcome(shown.as_ref().unwrap_or(outcome), self.format, &mut out)?;
        }
        if self.format == OutputFormat::Table {
            let note = if shown.is_some() {
                format!(" (first {TERMINAL_ROWS} shown; add LIMIT, or \\format csv for all)")
            } else {
                String::new()
            };
            writeln!(out, "{}{note}", outcome.summary()).map_err(|e| Error::io("<stdout>", e))?;
            out.flush().map_err(|e| Error::io("<stdout>", e))?;
        } else {
            out.flush().map_err(|e| Error::io("<stdout>", e))?;
            let _ = writeln!(std::io::stderr(), "{}", outcome.summary());
        }
        Ok(())
    }

    /// A backslash command (or `quit` / `exit`).
    fn command(&mut self, input: &str) -> Next {
        let mut words = input.split_whitespace();
        let name = words.next().unwrap_or_default();
        let arg = words.collect::<Vec<_>>().join(" ");
        let arg = arg.trim_end_matches(';').trim();
        let result = match name.trim_end_matches(';') {
            "\\q" | "quit" | "exit" => return Next::Quit,
            "\\?" | "\\h" | "\\help" => {
                writeln!(std::io::stdout(), "{HELP}").map_err(|e| Error::io("<stdout>", e))
            }
            "\\d" if arg.is_empty() => self.list_tables(),
            "\\d" => self.describe(arg),
            "\\format" | "\\f" => self.set_format(arg),
            other => Err(Error::BadArgument(format!(
                "unknown command {other} (\\? lists the commands)"
            ))),
        };
        if let Err(e) = result {
            self.fail(&e);
        }
        Next::Continue
    }

    fn set_format(&mut self, arg: &str) -> Result<()> {
        use clap::ValueEnum;
        if arg.is_empty() {
            return writeln!(std::io::stdout(), "{}", format_name(self.format))
                .map_err(|e| Error::io("<stdout>", e));
        }
        let f = OutputFormat::from_str(arg, true)
            .map_err(|_| Error::BadArgument(format!("unknown format {arg}")))?;
        if matches!(f, OutputFormat::Parquet | OutputFormat::Arrow) {
            return Err(Error::BadArgument(format!(
                "the shell prints text; for {arg} run `fleetops sql QUERY --format {arg} --output FILE`"
            )));
        }
        self.format = f;
        Ok(())
    }

    /// `\d`: every table and view outside information_schema.
    fn list_tables(&self) -> Result<()> {
        let sql = "SELECT CASE WHEN table_schema = 'public' THEN table_name \
                   ELSE table_schema || '.' || table_name END AS name, \
                   lower(table_type) AS type \
                   FROM information_schema.tables \
                   WHERE table_schema <> 'information_schema' ORDER BY name";
        let mut statements = parse_statements(self.ctx, sql)?;
        let outcome = self.rt.block_on(execute(self.ctx, statements.remove(0)))?;
        self.print(&outcome)
    }

    /// `\d NAME`: the columns of a table, struct fields as `parent.child` rows.
    fn describe(&self, name: &str) -> Result<()> {
        let start = std::time::Instant::now();
        let provider = self
            .rt
            .block_on(self.ctx.table_provider(name))
            .map_err(|_| Error::BadArgument(format!("no table named {name} (\\d lists them)")))?;
        let schema = provider.schema();
        let mut rows: Vec<(String, String, bool)> = Vec::new();
        describe_fields(schema.fields(), "", &mut rows);
        let out_schema = Arc::new(Schema::new(vec![
            Field::new("column", DataType::Utf8, false),
            Field::new("type", DataType::Utf8, false),
            Field::new("nullable", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            out_schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.0))),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.1))),
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| if r.2 { "YES" } else { "NO" }),
                )),
            ],
        )?;
        self.print(&Outcome {
            schema: out_schema,
            batches: vec![batch],
            elapsed: start.elapsed(),
        })
    }

    /// Table, column and function names for tab completion.
    fn completion_words(&self) -> Vec<String> {
        let mut words: Vec<String> = ["\\d", "\\format", "\\q", "\\?"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        words.extend(
            crate::functions::function_docs()
                .iter()
                .map(|d| d.name.to_string()),
        );
        let (catalog, schema) = {
            let state = self.ctx.state();
            let o = &state.config().options().catalog;
            (o.default_catalog.clone(), o.default_schema.clone())
        };
        if let Some(catalog) = self.ctx.catalog(&catalog)
            && let Some(schema) = catalog.schema(&schema)
        {
            for table in schema.table_names() {
                if let Ok(Some(t)) = self.rt.block_on(schema.table(&table)) {
                    let mut rows = Vec::new();
                    describe_fields(t.schema().fields(), "", &mut rows);
                    words.extend(rows.into_iter().filter_map(|(c, _, _)| {
                        // `error.code` is typed as `error['code']`: offer the parent.
                        (!c.contains('.')).then_some(c)
                    }));
                }
                words.push(table);
            }
        }
        for kw in [
            "SELECT", "FROM", "WHERE", "GROUP", "BY", "ORDER", "LIMIT", "HAVING", "COUNT", "DESC",
            "DISTINCT", "JOIN", "WITH",
        ] {
            words.push(kw.to_string());
        }
        words.sort();
        words.dedup();
        words
    }
}

/// Rows of a table the shell shows on a terminal.
const TERMINAL_ROWS: usize = 100;

/// The first `n` rows of a result.
fn first_rows(outcome: &Outcome, n: usize) -> Outcome {
    let mut left = n;
    let mut batches = Vec::new();
    for b in &outcome.batches {
        if left == 0 {
            break;
        }
        let take = b.num_rows().min(left);
        batches.push(b.slice(0, take));
        left -= take;
    }
    Outcome {
        schema: outcome.schema.clone(),
        batches,
        elapsed: outcome.elapsed,
    }
}

/// `\q`, `\d ...`, `quit`, `exit`.
fn is_command(line: &str) -> bool {
    line.starts_with('\\')
        || matches!(
            line.trim_end_matches(';')
                .trim()
                .to_ascii_lowercase()
                .as_str(),
            "quit" | "exit"
        )
}

/// True when the last token of `sql` that is not whitespace or a comment is
/// a `;` (so a `;` inside a string or comment does not end a statement).
fn statement_complete(dialect: &dyn Dialect, sql: &str) -> bool {
    match Tokenizer::new(dialect, sql).tokenize() {
        Ok(tokens) => tokens
            .iter()
            .rev()
            .find(|t| !matches!(t, Token::Whitespace(_) | Token::EOF))
            .is_some_and(|t| *t == Token::SemiColon),
        // An unterminated string or comment: more lines to come.
        Err(_) => false,
    }
}

fn format_name(f: OutputFormat) -> &'static str {
    match f {
        OutputFormat::Table => "table",
        OutputFormat::Csv => "csv",
        OutputFormat::Json => "json",
        OutputFormat::Ndjson => "ndjson",
        OutputFormat::Parquet => "parquet",
        OutputFormat::Arrow => "arrow",
    }
}

/// A compact type name: `Utf8`, `Timestamp(Microsecond, UTC)`, `Struct`, `List(Utf8)`.
fn type_name(dt: &DataType) -> String {
    match dt {
        DataType::Timestamp(unit, tz) => {
            let unit = match unit {
                TimeUnit::Second => "Second",
                TimeUnit::Millisecond => "Millisecond",
                TimeUnit::Microsecond => "Microsecond",
                TimeUnit::Nanosecond => "Nanosecond",
            };
            match tz {
                Some(tz) => format!("Timestamp({unit}, {tz})"),
                None => format!("Timestamp({unit})"),
            }
        }
        DataType::Struct(_) => "Struct".into(),
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) => {
            format!("List({})", type_name(f.data_type()))
        }
        other => other.to_string(),
    }
}

fn describe_fields(fields: &Fields, prefix: &str, rows: &mut Vec<(String, String, bool)>) {
    for f in fields {
        let name = format!("{prefix}{}", f.name());
        rows.push((name.clone(), type_name(f.data_type()), f.is_nullable()));
        if let DataType::Struct(children) = f.data_type() {
            describe_fields(children, &format!("{name}."), rows);
        }
    }
}

/// `$HOME/.fleetops_history`.
fn history_file() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".fleetops_history"))
}

/// Line-editing behaviour: multi-line statements and tab completion.
struct ShellHelper {
    dialect: Box<dyn Dialect>,
    words: Vec<String>,
}

impl Helper for ShellHelper {}

impl Validator for ShellHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let input = ctx.input().trim();
        if input.is_empty() || is_command(input) || statement_complete(self.dialect.as_ref(), input)
        {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

impl Completer for ShellHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let before = &line[..pos];
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '\\'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &before[start..];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let lower = word.to_lowercase();
        let candidates = self
            .words
            .iter()
            .filter(|w| w.to_lowercase().starts_with(&lower))
            .cloned()
            .collect();
        Ok((start, candidates))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_end_at_a_semicolon_outside_strings_and_comments() {
        let d = GenericDialect {};
        assert!(statement_complete(&d, "SELECT 1;"));
        assert!(statement_complete(&d, "SELECT 1; -- done\n"));
        assert!(!statement_complete(&d, "SELECT 1"));
        assert!(!statement_complete(&d, "SELECT ';"));
        assert!(!statement_complete(&d, "SELECT 1 -- ;"));
        assert!(statement_complete(&d, "SELECT 'a;\nb';"));
    }

    #[test]
    fn commands() {
        assert!(is_command("\\d operations"));
        assert!(is_command("quit"));
        assert!(is_command("EXIT;"));
        assert!(!is_command("SELECT 1;"));
    }
}
