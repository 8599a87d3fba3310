//! The two RPCs of the 3.x service, and the kind of call each is reported as.

use crate::neutral::observer::CallKind;

/// Which RPC of the 3.x wire a call made (the 3.x service's two methods).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Forward.
    Forward,
    /// Backward.
    Backward,
}
impl Direction {
    /// Both, Forward first.
    pub const ALL: [Direction; 2] = [Direction::Forward, Direction::Backward];

    /// `"forward"` or `"backward"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Backward => "backward",
        }
    }

    /// The direction named `name` ([`Direction::as_str`]).
    pub fn from_name(name: &str) -> Option<Direction> {
        Direction::ALL.into_iter().find(|d| d.as_str() == name)
    }
}

impl std::str::FromStr for Direction {
    type Err = String;

    /// [`Direction::from_name`], with a message naming what was given.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Direction::from_name(name)
            .ok_or_else(|| format!("{name:?} is neither forward nor backward"))
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Direction> for CallKind {
    fn from(direction: Direction) -> Self {
        match direction {
            Direction::Forward => CallKind::Forward,
            Direction::Backward => CallKind::Backward,
        }
    }
}
