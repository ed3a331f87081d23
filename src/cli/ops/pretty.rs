//! `--json` output: the daemon's JSON re-indented as text, so keys keep the daemon's order and
//! numbers their spelling (a `serde_json::Value` would sort the keys).
//!
//! Owns: indentation only. Must not: change a token. The input MUST already be valid JSON (the
//! caller checked); on anything else the output is merely ugly, never a panic.

/// `text` indented by two spaces per level, `"key": value`, one element per line, ending with a
/// newline (the layout of `serde_json::to_string_pretty`).
pub fn pretty(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.peek().is_some_and(|n| n.is_whitespace()) {
                    chars.next();
                }
                match chars.peek() {
                    // An empty object or array stays on one line: `{}`, `[]`.
                    Some(&close @ ('}' | ']')) => {
                        chars.next();
                        out.push(close);
                    }
                    _ => {
                        depth += 1;
                        newline(&mut out, depth);
                    }
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n("  ", depth));
}

#[cfg(test)]
mod tests {
    use super::pretty;

    #[test]
    fn the_layout_is_serde_jsons_and_the_key_order_the_daemons() {
        let compact = r#"{"z":1,"a":{"s":"x, {y}: \"q\" \\","e":[],"o":{}},"n":[1.50,null,true]}"#;
        let want = "{\n  \"z\": 1,\n  \"a\": {\n    \"s\": \"x, {y}: \\\"q\\\" \\\\\",\n    \"e\": [],\n    \
                    \"o\": {}\n  },\n  \"n\": [\n    1.50,\n    null,\n    true\n  ]\n}\n";
        assert_eq!(pretty(compact), want);
        // Already pretty input comes out the same.
        assert_eq!(pretty(&pretty(compact)), want);
        // And it is the same document.
        let a: serde_json::Value = serde_json::from_str(compact).unwrap();
        let b: serde_json::Value = serde_json::from_str(&pretty(compact)).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn junk_does_not_panic() {
        for junk in ["}}}]]", "\"unterminated", "{[", ""] {
            let _ = pretty(junk);
        }
    }
}
