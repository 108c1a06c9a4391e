//! Where reports go: stdout with colour decided by `--color`, `NO_COLOR` and
//! whether stdout is a terminal. Reports are written with ANSI styles, which
//! the stream strips when colour is off. Stderr (log lines, errors) follows
//! the same choice, decided on stderr.

use std::io::{self, Write};

use super::ColorChoice;

/// The report stream.
pub struct Out {
    inner: anstream::AutoStream<Box<dyn Write>>,
}

fn anstream_choice(choice: ColorChoice) -> anstream::ColorChoice {
    match choice {
        ColorChoice::Auto => anstream::ColorChoice::Auto,
        ColorChoice::Always => anstream::ColorChoice::Always,
        ColorChoice::Never => anstream::ColorChoice::Never,
    }
}

/// Stderr, coloured only as `--color` (and, for `auto`, `NO_COLOR` and
/// whether stderr is a terminal) allow.
pub fn stderr(choice: ColorChoice) -> anstream::AutoStream<io::Stderr> {
    anstream::AutoStream::new(io::stderr(), anstream_choice(choice))
}

/// Whether log lines on stderr may carry ANSI colours.
pub fn stderr_in_colour(choice: ColorChoice) -> bool {
    stderr(choice).current_choice() != anstream::ColorChoice::Never
}

impl Out {
    pub fn stdout(choice: ColorChoice) -> Self {
        // Decide on the real stdout, then write through a buffered handle.
        let choice =
            anstream::AutoStream::new(io::stdout(), anstream_choice(choice)).current_choice();
        let sink: Box<dyn Write> = Box::new(io::BufWriter::new(io::stdout()));
        Out {
            inner: anstream::AutoStream::new(sink, choice),
        }
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub use crate::report::style::{bold, dim, green, red, yellow};

/// Pretty JSON with every object's keys sorted, as docs/json-output.md
/// promises for documents built as `serde_json::Value`. Sorting here keeps
/// that true when serde_json's `preserve_order` feature is on (cfn-guard
/// enables it for the whole build).
pub fn sorted_json(mut v: serde_json::Value) -> serde_json::Result<String> {
    v.sort_all_objects();
    serde_json::to_string_pretty(&v)
}
