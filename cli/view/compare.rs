//! `hsync show OLD NEW`: what a re-plan added, dropped or changed against
//! the plan that was reviewed, action by action, jobs matched by name and
//! actions by target path.
//!
//! Both plans are read side by side; an action waits only until its
//! counterpart arrives from the other plan, so plans written in the same
//! order (as hsync writes them) hold in memory only the actions found on one
//! side.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use hsync_plan::{Action, JobPlan, Plan};
use hsync_storage::display;
use serde_json::Value;

use super::listing::{Listing, Row};
use super::plan::{action_bytes, header, line, shown_path, View};
use super::rollup::Column;
use super::style::{Palette, Sign};
use super::units::count;

const COLUMNS: &[Column] = &[
    Column {
        sign: Sign::Add,
        label: "added",
    },
    Column {
        sign: Sign::Remove,
        label: "dropped",
    },
    Column {
        sign: Sign::Change,
        label: "changed",
    },
];

/// What happened to one action between the two plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Added,
    Dropped,
    Changed,
}

#[derive(Default)]
struct Counts {
    added: u64,
    dropped: u64,
    changed: u64,
    same: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.added += other.added;
        self.dropped += other.dropped;
        self.changed += other.changed;
        self.same += other.same;
    }

    fn differs(&self) -> bool {
        self.added + self.dropped + self.changed > 0
    }

    fn words(&self) -> String {
        format!(
            "{} added, {} dropped, {} changed, {} the same",
            count(self.added, "action"),
            self.dropped,
            self.changed,
            self.same
        )
    }
}

/// Every job of `new` against the job of the same name in `old`, then the
/// jobs only `old` has; `reviewed` names the old plan.
pub fn plans(old: &Plan, new: &Plan, reviewed: &str, view: &View, out: &mut impl Write) {
    let _ = writeln!(out, "Compared with the reviewed plan {reviewed}:\n");
    let mut totals = Counts::default();
    let mut jobs_changed = 0;
    for job in &new.jobs {
        let before = old.jobs.iter().find(|o| o.name == job.name);
        let counts = match self::job(before, Some(job), view, out) {
            Ok(counts) => counts,
            Err(_) => return, // a closed pipe
        };
        jobs_changed += u64::from(counts.differs() || before.is_none());
        totals.add(&counts);
    }
    for job in old
        .jobs
        .iter()
        .filter(|o| !new.jobs.iter().any(|n| n.name == o.name))
    {
        match self::job(Some(job), None, view, out) {
            Ok(counts) => totals.add(&counts),
            Err(_) => return,
        }
        jobs_changed += 1;
    }
    let _ = match totals.differs() || jobs_changed > 0 {
        true => writeln!(out, "Against {reviewed}: {}.", totals.words()),
        false => writeln!(
            out,
            "No differences: both plans do the same ({}).",
            count(totals.same, "action")
        ),
    };
    let _ = out.flush();
}

/// One job, in either plan or both.
fn job(
    old: Option<&JobPlan>,
    new: Option<&JobPlan>,
    view: &View,
    out: &mut dyn Write,
) -> io::Result<Counts> {
    let mut now = Vec::new();
    let mut was = Vec::new();
    if let Some(job) = new {
        header(job, &mut now)?;
    }
    if let Some(job) = old {
        header(job, &mut was)?;
    }
    match (old, new) {
        (_, Some(_)) => out.write_all(&now)?,
        (Some(_), None) => out.write_all(&was)?,
        (None, None) => {}
    }
    match (old, new) {
        (None, Some(_)) => writeln!(out, "  a new job, not in the reviewed plan")?,
        (Some(_), None) => writeln!(out, "  a dropped job, only in the reviewed plan")?,
        _ => {}
    }
    if old.is_some() && new.is_some() && now != was {
        writeln!(out, "  the header differs from the reviewed plan's:")?;
        let (now, was) = (String::from_utf8_lossy(&now), String::from_utf8_lossy(&was));
        let diff = similar::TextDiff::from_lines(was.as_ref(), now.as_ref());
        for change in diff.iter_all_changes() {
            let sign = match change.tag() {
                similar::ChangeTag::Equal => continue,
                similar::ChangeTag::Delete => Sign::Remove,
                similar::ChangeTag::Insert => Sign::Add,
            };
            let text = format!("{} {}", sign.char(), change.value().trim());
            writeln!(out, "    {}", view.palette.paint(sign, text))?;
        }
    }
    let mut listing = Listing::new(COLUMNS, view.length, view.palette);
    let none = std::iter::empty::<&Action>();
    let counts = match (old, new) {
        (Some(o), Some(n)) => actions(o.actions.iter(), n.actions.iter(), &mut listing, out)?,
        (Some(o), None) => actions(o.actions.iter(), none, &mut listing, out)?,
        (None, Some(n)) => actions(none, n.actions.iter(), &mut listing, out)?,
        (None, None) => Counts::default(),
    };
    listing.finish(out, &view.see_all)?;
    if counts.differs() {
        writeln!(out, "  ({})", counts.words())?;
    } else {
        writeln!(out, "  (the same {})", count(counts.same, "action"))?;
    }
    writeln!(out)?;
    Ok(counts)
}

/// Actions matched by target path, the plans read side by side: a match
/// found is printed at once (when it differs); what is left on one side at
/// the end was added or dropped, printed by path.
fn actions<A: Borrow<Action>>(
    old: impl Iterator<Item = A>,
    new: impl Iterator<Item = A>,
    listing: &mut Listing<DiffRow<A>>,
    out: &mut dyn Write,
) -> io::Result<Counts> {
    let mut counts = Counts::default();
    let mut waiting = [Waiting::default(), Waiting::default()];
    let (mut old, mut new) = (old.fuse(), new.fuse());
    loop {
        let next = [old.next(), new.next()];
        if next.iter().all(Option::is_none) {
            break;
        }
        for (side, action) in next.into_iter().enumerate() {
            let Some(action) = action else { continue };
            let Some(other) = waiting[1 - side].take(action.borrow()) else {
                waiting[side].put(action);
                continue;
            };
            let (was, now) = match side {
                0 => (action, other),
                _ => (other, action),
            };
            if was.borrow() == now.borrow() {
                counts.same += 1;
            } else {
                counts.changed += 1;
                listing.push(
                    out,
                    DiffRow {
                        kind: Kind::Changed,
                        action: now,
                        was: Some(was),
                    },
                )?;
            }
        }
    }
    let [dropped, added] = waiting.map(Waiting::into_sorted);
    counts.dropped = dropped.len() as u64;
    counts.added = added.len() as u64;
    let rows = dropped
        .into_iter()
        .map(|a| (Kind::Dropped, a))
        .chain(added.into_iter().map(|a| (Kind::Added, a)));
    let mut rows: Vec<(Kind, A)> = rows.collect();
    rows.sort_by(|a, b| a.1.borrow().path().cmp(b.1.borrow().path()));
    for (kind, action) in rows {
        listing.push(
            out,
            DiffRow {
                kind,
                action,
                was: None,
            },
        )?;
    }
    Ok(counts)
}

/// The actions of one plan whose counterpart has not been read yet.
struct Waiting<A> {
    by_path: HashMap<String, Vec<A>>,
}

impl<A> Default for Waiting<A> {
    fn default() -> Self {
        Waiting {
            by_path: HashMap::new(),
        }
    }
}

impl<A: Borrow<Action>> Waiting<A> {
    fn put(&mut self, action: A) {
        let path = action.borrow().path().to_string();
        self.by_path.entry(path).or_default().push(action);
    }

    /// The waiting action at the same path, of the same kind if there is one.
    fn take(&mut self, like: &Action) -> Option<A> {
        let waiting = self.by_path.get_mut(like.path())?;
        let same_op = |a: &A| std::mem::discriminant(a.borrow()) == std::mem::discriminant(like);
        let index = waiting.iter().position(same_op).unwrap_or(0);
        let action = waiting.remove(index);
        if waiting.is_empty() {
            self.by_path.remove(like.path());
        }
        Some(action)
    }

    fn into_sorted(self) -> Vec<A> {
        let mut all: Vec<A> = self.by_path.into_values().flatten().collect();
        all.sort_by(|a, b| a.borrow().path().cmp(b.borrow().path()));
        all
    }
}

struct DiffRow<A> {
    kind: Kind,
    /// The action as the new plan has it (the old one's, when dropped).
    action: A,
    /// The reviewed plan's action, when changed.
    was: Option<A>,
}

impl<A: Borrow<Action>> Row for DiffRow<A> {
    fn column(&self) -> usize {
        self.kind as usize
    }

    fn path(&self) -> &str {
        self.action.borrow().path()
    }

    fn is_dir(&self) -> bool {
        super::plan::is_dir(self.action.borrow())
    }

    fn bytes(&self) -> u64 {
        action_bytes(self.action.borrow())
    }

    fn shown_path(&self) -> String {
        shown_path(self.action.borrow())
    }

    fn write(&self, out: &mut dyn Write, width: usize, palette: Palette) -> io::Result<()> {
        let (sign, size, why) = line(self.action.borrow());
        let (word, colour) = match self.kind {
            Kind::Added => ("added", Sign::Add),
            Kind::Dropped => ("dropped", Sign::Remove),
            Kind::Changed => ("changed", Sign::Change),
        };
        let text = format!(
            "{word:<7}  {} {:<width$}  {size:>10}  {why}",
            sign.char(),
            self.shown_path()
        );
        writeln!(out, "  {}", palette.paint(colour, text))?;
        if let Some(was) = &self.was {
            writeln!(
                out,
                "           {}",
                changes(was.borrow(), self.action.borrow())
            )?;
        }
        Ok(())
    }
}

/// The fields that differ, exactly: `size 2150 -> 2148; mtime_ms 1 -> 2`.
fn changes(was: &Action, now: &Action) -> String {
    let (was, now) = (fields(was), fields(now));
    let mut keys: Vec<&String> = was.keys().chain(now.keys()).collect();
    keys.sort();
    keys.dedup();
    let shown = |value: Option<&Value>| match value {
        None => "(none)".to_string(),
        Some(Value::String(text)) => display(text).into_owned(),
        Some(other) => other.to_string(),
    };
    let differing: Vec<String> = keys
        .into_iter()
        .filter(|key| was.get(*key) != now.get(*key))
        .map(|key| format!("{key} {} -> {}", shown(was.get(key)), shown(now.get(key))))
        .collect();
    differing.join("; ")
}

/// An action's fields as the plan file spells them, nested ones dotted
/// (`replaces.size`).
fn fields(action: &Action) -> BTreeMap<String, Value> {
    fn flatten(prefix: &str, value: Value, into: &mut BTreeMap<String, Value>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    let key = match prefix {
                        "" => key,
                        _ => format!("{prefix}.{key}"),
                    };
                    flatten(&key, value, into);
                }
            }
            other => {
                into.insert(prefix.to_string(), other);
            }
        }
    }
    let mut into = BTreeMap::new();
    if let Ok(value) = serde_json::to_value(action) {
        flatten("", value, &mut into);
    }
    into
}
