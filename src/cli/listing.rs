//! `fleetops functions`.

use std::io::Write;
use std::process::ExitCode;

use crate::error::{Error, Result};
use crate::functions::{FunctionDoc, function_docs};

/// Text width the descriptions are wrapped to.
const WIDTH: usize = 88;

pub fn functions() -> Result<ExitCode> {
    let text = render(&function_docs());
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("<stdout>", e))?;
    Ok(ExitCode::SUCCESS)
}

/// Every function: a summary list, then one section each.
pub fn render(docs: &[FunctionDoc]) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "fleetops adds {} SQL functions (to `fleetops sql` and to any SessionContext by \
         fleetops::functions::register_all):\n\n",
        docs.len()
    ));
    let width = docs.iter().map(|d| d.name.len()).max().unwrap_or(0);
    for d in docs {
        s.push_str(&format!("  {:<width$}  {}\n", d.name, d.kind));
    }
    for d in docs {
        s.push('\n');
        s.push_str(&format!("{} ({})\n", d.name, d.kind));
        s.push_str(&format!("  {}\n", d.signature));
        s.push('\n');
        wrap_into(&mut s, d.description, "  ", "  ");
        wrap_into(&mut s, d.null_behaviour, "  NULL: ", "        ");
        s.push_str("  Example:\n");
        for line in d.example.lines() {
            s.push_str(&format!("    {}\n", line.trim_end()));
        }
    }
    s
}

/// Appends `text` wrapped at [`WIDTH`], the first line after `first`, the
/// others after `rest`.
fn wrap_into(out: &mut String, text: &str, first: &str, rest: &str) {
    let mut line = String::from(first);
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = String::from(rest);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_words() {
        let mut s = String::new();
        wrap_into(&mut s, &"word ".repeat(40), "  NULL: ", "        ");
        let lines: Vec<&str> = s.lines().collect();
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH));
        assert!(lines[0].starts_with("  NULL: word"));
        assert!(lines[1].starts_with("        word"));
        assert_eq!(s.split_whitespace().filter(|w| *w == "word").count(), 40);
    }

    #[test]
    fn lists_every_function() {
        let docs = function_docs();
        let text = render(&docs);
        for d in &docs {
            assert!(text.contains(&format!("\n{} ({})\n", d.name, d.kind)));
            assert!(text.contains(d.signature));
        }
    }
}
