//! ANSI styles for human output; the output stream strips them when colour
//! is off (`--color never`, `NO_COLOR`, not a terminal).

use anstyle::{AnsiColor, Style};

fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

pub fn green(text: &str) -> String {
    paint(AnsiColor::Green.on_default(), text)
}

pub fn red(text: &str) -> String {
    paint(AnsiColor::Red.on_default(), text)
}

pub fn yellow(text: &str) -> String {
    paint(AnsiColor::Yellow.on_default(), text)
}

pub fn bold(text: &str) -> String {
    paint(Style::new().bold(), text)
}

pub fn dim(text: &str) -> String {
    paint(Style::new().dimmed(), text)
}
