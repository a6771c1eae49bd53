//! The plan as a DAG: parents before children, data before attributes,
//! copies before deletes, folder attributes after their contents.

use std::collections::HashMap;

use hsync_plan::{Action, Commit, JobPlan, Plan};
use petgraph::graph::{DiGraph, NodeIndex};

/// One unit of work. `job` and `action` index into the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Create the job's target root (or its staging root, for atomic commit).
    Root {
        job: usize,
    },
    Mkdir {
        job: usize,
        action: usize,
    },
    /// Data through a temporary name, then the rename into place.
    Copy {
        job: usize,
        action: usize,
    },
    /// A symlink made through a temporary name (`symlinks = "copy"`).
    Symlink {
        job: usize,
        action: usize,
    },
    /// A copied file's preserved attributes.
    FileAttributes {
        job: usize,
        action: usize,
    },
    /// A folder's attributes, once everything inside it is done.
    DirAttributes {
        job: usize,
        action: usize,
    },
    /// Nothing to do: deletes wait on it, so they start after every copy.
    CopiesDone {
        job: usize,
    },
    Delete {
        job: usize,
        action: usize,
    },
    /// Atomic commit: the staged target renamed into place.
    Publish {
        job: usize,
    },
    /// Renamed paths moved into a staging folder and subtrees deleted,
    /// deepest first, so no move depends on another (DistCp's `-diff`).
    MoveAside {
        job: usize,
    },
    /// Renamed paths moved from staging to their new names, shallowest first.
    LandRenames {
        job: usize,
    },
    /// Atomic jobs: a staging folder an interrupted apply of another plan
    /// left beside the target root removed (`index` into the job's
    /// `leftover_staging`), before the root is staged.
    ClearStaging {
        job: usize,
        index: usize,
    },
    /// Incremental jobs: the source's snapshot taken on the target, once
    /// everything else is done, and old hsync snapshots pruned.
    Snapshot {
        job: usize,
    },
}

/// How a step depends on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// The step needs the other's result (a file needs its folder).
    Needs,
    /// The step only comes after the other, whatever its outcome.
    After,
}

impl Step {
    /// A stable name for the journal: the same plan always gives the same keys.
    pub fn key(&self) -> String {
        match *self {
            Step::Root { job } => format!("{job}/root"),
            Step::Mkdir { job, action } => format!("{job}/{action}/mkdir"),
            Step::Copy { job, action } => format!("{job}/{action}/copy"),
            Step::Symlink { job, action } => format!("{job}/{action}/symlink"),
            Step::FileAttributes { job, action } => format!("{job}/{action}/attributes"),
            Step::DirAttributes { job, action } => format!("{job}/{action}/dir-attributes"),
            Step::CopiesDone { job } => format!("{job}/copies-done"),
            Step::Delete { job, action } => format!("{job}/{action}/delete"),
            Step::Publish { job } => format!("{job}/publish"),
            Step::MoveAside { job } => format!("{job}/move-aside"),
            Step::LandRenames { job } => format!("{job}/land-renames"),
            Step::Snapshot { job } => format!("{job}/snapshot"),
            Step::ClearStaging { job, index } => format!("{job}/clear-staging/{index}"),
        }
    }

    /// Journal keys of the parts of a move step, one per action.
    pub fn part_key(&self, action: usize) -> String {
        format!("{}/{action}", self.key())
    }
}

pub type Dag = DiGraph<Step, Edge>;

/// Builds the DAG of a whole plan; jobs are independent of each other.
pub fn build(plan: &Plan) -> Dag {
    let mut dag = Dag::new();
    for (job_index, job) in plan.jobs.iter().enumerate() {
        add_job(&mut dag, job_index, job);
    }
    dag
}

/// Whether an action is done by [`Step::MoveAside`] (and [`Step::LandRenames`]).
pub fn is_move(action: &Action) -> bool {
    match action {
        Action::Rename(_) => true,
        Action::Delete(delete) => delete.recursive,
        _ => false,
    }
}

fn add_job(dag: &mut Dag, job: usize, plan: &JobPlan) {
    let actions = &plan.actions;
    // Extended attributes are read from the source when the file is in
    // place, so with them every copy gets an attributes step.
    let xattrs = !plan.copied_xattrs().is_empty();
    // Node indices are handed out in order: this job's are those from here.
    let first = dag.node_count();
    let mut root = dag.add_node(Step::Root { job });
    for index in 0..plan.leftover_staging.len() {
        let clear = dag.add_node(Step::ClearStaging { job, index });
        dag.add_edge(clear, root, Edge::After);
    }
    // Moves come before anything is created: what lands may need their paths.
    if actions.iter().any(is_move) {
        let aside = dag.add_node(Step::MoveAside { job });
        let land = dag.add_node(Step::LandRenames { job });
        dag.add_edge(root, aside, Edge::Needs);
        dag.add_edge(aside, land, Edge::Needs);
        root = land;
    }
    let copies_done = dag.add_node(Step::CopiesDone { job });
    dag.add_edge(root, copies_done, Edge::Needs);

    // The step that makes each folder exist, and the steps inside each
    // folder that its attributes must wait for.
    let mut folder: HashMap<&str, NodeIndex> = HashMap::new();
    let mut inside: HashMap<&str, Vec<NodeIndex>> = HashMap::new();
    let mut dir_attributes: Vec<(&str, NodeIndex)> = Vec::new();
    let mut deletes: Vec<(&Action, NodeIndex)> = Vec::new();

    for (action_index, action) in actions.iter().enumerate() {
        let (parent, _) = hsync_storage::parent_and_name(action.path());
        match action {
            Action::Mkdir(mkdir) => {
                let node = dag.add_node(Step::Mkdir {
                    job,
                    action: action_index,
                });
                folder.insert(&mkdir.path, node);
                inside.entry(parent).or_default().push(node);
                let attributes = dag.add_node(Step::DirAttributes {
                    job,
                    action: action_index,
                });
                dag.add_edge(node, attributes, Edge::Needs);
                inside.entry(parent).or_default().push(attributes);
                dir_attributes.push((&mkdir.path, attributes));
            }
            Action::SetAttributes(set) => {
                let node = dag.add_node(Step::DirAttributes {
                    job,
                    action: action_index,
                });
                inside.entry(parent).or_default().push(node);
                dir_attributes.push((&set.path, node));
            }
            Action::Copy(copy) => {
                let node = dag.add_node(Step::Copy {
                    job,
                    action: action_index,
                });
                dag.add_edge(node, copies_done, Edge::After);
                inside.entry(parent).or_default().push(node);
                if !copy.attributes.is_empty() || xattrs {
                    let attributes = dag.add_node(Step::FileAttributes {
                        job,
                        action: action_index,
                    });
                    dag.add_edge(node, attributes, Edge::Needs);
                    inside.entry(parent).or_default().push(attributes);
                }
            }
            Action::Symlink(_) => {
                let node = dag.add_node(Step::Symlink {
                    job,
                    action: action_index,
                });
                dag.add_edge(node, copies_done, Edge::After);
                inside.entry(parent).or_default().push(node);
            }
            Action::Delete(_) | Action::Rename(_) if is_move(action) => {}
            Action::Rename(_) => unreachable!("every rename is a move"),
            Action::Delete(_) => {
                let node = dag.add_node(Step::Delete {
                    job,
                    action: action_index,
                });
                dag.add_edge(copies_done, node, Edge::After);
                inside.entry(parent).or_default().push(node);
                deletes.push((action, node));
            }
        }
    }

    // Every step needs its folder: the mkdir of the plan, or else the root.
    // Only this job's steps: action indices are per job.
    let nodes: Vec<NodeIndex> = (first..dag.node_count()).map(NodeIndex::new).collect();
    for index in nodes {
        let Some(action) = action_of(dag[index]) else {
            continue;
        };
        if matches!(dag[index], Step::FileAttributes { .. }) {
            continue;
        }
        if matches!(dag[index], Step::DirAttributes { .. })
            && matches!(actions[action], Action::Mkdir(_))
        {
            continue;
        }
        let (parent, _) = hsync_storage::parent_and_name(actions[action].path());
        let needed = folder.get(parent).copied().unwrap_or(root);
        dag.add_edge(needed, index, Edge::Needs);
    }
    // A folder's attributes come after everything inside it.
    for (path, attributes) in dir_attributes {
        for &child in inside.get(path).map(Vec::as_slice).unwrap_or_default() {
            dag.add_edge(child, attributes, Edge::After);
        }
    }
    // A folder is deleted after what it contained.
    let delete_of: HashMap<&str, NodeIndex> = deletes.iter().map(|(a, n)| (a.path(), *n)).collect();
    for (action, node) in &deletes {
        let (parent, _) = hsync_storage::parent_and_name(action.path());
        if let Some(&parent_delete) = delete_of.get(parent) {
            dag.add_edge(*node, parent_delete, Edge::Needs);
        }
    }
    let last = match (plan.options.commit, &plan.snapshot) {
        (Commit::Atomic, _) => Some(Step::Publish { job }),
        (Commit::File, Some(_)) => Some(Step::Snapshot { job }),
        (Commit::File, None) => None,
    };
    if let Some(last) = last {
        let last_node = dag.add_node(last);
        // Every step, not only the last ones: an `After` edge lets a
        // failure through, and nothing may be published after one.
        for index in (first..last_node.index()).map(NodeIndex::new) {
            dag.add_edge(index, last_node, Edge::Needs);
        }
    }
}

/// The index of the action a step works on, if it has one.
pub fn action_of(step: Step) -> Option<usize> {
    match step {
        Step::Mkdir { action, .. }
        | Step::Copy { action, .. }
        | Step::Symlink { action, .. }
        | Step::FileAttributes { action, .. }
        | Step::DirAttributes { action, .. }
        | Step::Delete { action, .. } => Some(action),
        Step::Root { .. }
        | Step::CopiesDone { .. }
        | Step::Publish { .. }
        | Step::MoveAside { .. }
        | Step::LandRenames { .. }
        | Step::ClearStaging { .. }
        | Step::Snapshot { .. } => None,
    }
}

pub fn job_of(step: Step) -> usize {
    match step {
        Step::Root { job }
        | Step::Mkdir { job, .. }
        | Step::Copy { job, .. }
        | Step::Symlink { job, .. }
        | Step::FileAttributes { job, .. }
        | Step::DirAttributes { job, .. }
        | Step::CopiesDone { job }
        | Step::Delete { job, .. }
        | Step::Publish { job }
        | Step::MoveAside { job }
        | Step::LandRenames { job }
        | Step::ClearStaging { job, .. }
        | Step::Snapshot { job } => job,
    }
}

#[cfg(test)]
mod tests {
    use petgraph::algo::has_path_connecting;

    use super::*;

    /// A plan in memory of these jobs, each a job header with `actions`.
    fn plan_of(jobs: Vec<serde_json::Value>) -> Plan {
        let jobs = jobs.into_iter().map(|mut job| {
            let actions = job.as_object_mut().unwrap().remove("actions").unwrap();
            hsync_plan::JobPlan {
                header: serde_json::from_value(job).expect("a job header"),
                actions: serde_json::from_value(actions).expect("actions"),
                skipped: Vec::new(),
                end: hsync_plan::JobEnd::default(),
            }
        });
        Plan {
            format_version: hsync_plan::FORMAT_VERSION,
            manifest: hsync_plan::ManifestRef {
                path: "hsync.toml".into(),
                digest: String::new(),
            },
            jobs: jobs.collect(),
            fingerprint: String::new(),
        }
    }

    /// An incremental job's plan with these actions (as the plan file has them).
    fn incremental_plan(actions: serde_json::Value) -> Plan {
        plan_of(vec![serde_json::json!({
                "name": "mirror",
                "source_fs": { "kind": "local" },
                "source_roots": ["/src/.snapshot/hsync-mirror-2"],
                "target_fs": { "kind": "local" },
                "target_root": "/dst",
                "options": { "mode": "update", "layout": "contents", "compare": ["size"],
                             "delete": true, "preserve": [], "commit": "file", "parallel": 1,
                             "incremental": { "by": "snapshot", "keep_snapshots": 2 } },
                "actions": actions,
                "snapshot": { "source_dir": "/src", "name": "hsync-mirror-2",
                              "base": "hsync-mirror-1" }
        })])
    }

    /// A plan of local jobs, each with these actions and `commit`.
    fn jobs_plan(jobs: &[(serde_json::Value, &str)]) -> Plan {
        let jobs: Vec<serde_json::Value> = jobs
            .iter()
            .enumerate()
            .map(|(i, (actions, commit))| {
                serde_json::json!({
                    "name": format!("job{i}"),
                    "source_fs": { "kind": "local" },
                    "source_roots": [format!("/src{i}")],
                    "target_fs": { "kind": "local" },
                    "target_root": format!("/dst{i}"),
                    "options": { "mode": "update", "layout": "contents", "compare": ["size"],
                                 "delete": true, "preserve": ["times"], "commit": commit,
                                 "parallel": 1 },
                    "actions": actions
                })
            })
            .collect();
        plan_of(jobs)
    }

    fn copy(path: &str) -> serde_json::Value {
        serde_json::json!({ "op": "copy", "path": path, "reason": "missing",
                            "source": { "root": 0, "path": path }, "size": 1, "mtime_ms": 1,
                            "attributes": { "mtime_ms": 1 } })
    }

    #[test]
    fn no_edge_crosses_jobs() {
        // The first job has more actions than the second: indexing the
        // second's actions with the first's steps panicked, or linked them.
        let first = serde_json::json!([
            { "op": "mkdir", "path": "d", "attributes": { "mtime_ms": 1 } },
            copy("d/a"), copy("d/b"), copy("d/c"),
            { "op": "delete", "path": "old", "entry": "file", "seen": { "size": 1, "mtime_ms": 1 } },
        ]);
        let second = serde_json::json!([copy("x")]);
        for commit in ["file", "atomic"] {
            let plan = jobs_plan(&[(first.clone(), commit), (second.clone(), commit)]);
            let dag = build(&plan);
            for edge in dag.raw_edges() {
                let (from, to) = (dag[edge.source()], dag[edge.target()]);
                assert_eq!(job_of(from), job_of(to), "{from:?} -> {to:?}");
            }
            // The second job's copy needs its root, and only that.
            let copy = dag
                .node_indices()
                .find(|n| dag[*n] == Step::Copy { job: 1, action: 0 })
                .expect("the second job's copy");
            let needs: Vec<Step> = dag
                .neighbors_directed(copy, petgraph::Direction::Incoming)
                .map(|n| dag[n])
                .collect();
            assert_eq!(needs, [Step::Root { job: 1 }]);
        }
    }

    #[test]
    fn renames_and_subtree_deletes_come_first_and_the_snapshot_last() {
        let seen = serde_json::json!({ "size": 0, "mtime_ms": 0 });
        let plan = incremental_plan(serde_json::json!([
            { "op": "rename", "from": "a", "to": "c/a", "entry": "dir", "seen": seen },
            { "op": "mkdir", "path": "c" },
            { "op": "copy", "path": "c/f", "reason": "created", "source": { "root": 0, "path": "c/f" },
              "size": 1, "mtime_ms": 1 },
            { "op": "delete", "path": "gone", "entry": "dir", "seen": seen, "recursive": true },
        ]));
        let dag = build(&plan);
        let node = |step: Step| {
            dag.node_indices()
                .find(|n| dag[*n] == step)
                .unwrap_or_else(|| panic!("no step {step:?}"))
        };
        let job = 0;
        let order = [
            node(Step::Root { job }),
            node(Step::MoveAside { job }),
            node(Step::LandRenames { job }),
            node(Step::Mkdir { job, action: 1 }),
            node(Step::Copy { job, action: 2 }),
            node(Step::Snapshot { job }),
        ];
        for pair in order.windows(2) {
            assert!(
                has_path_connecting(&dag, pair[0], pair[1], None),
                "{:?} before {:?}",
                dag[pair[0]],
                dag[pair[1]]
            );
        }
        // Renames and subtree deletes are parts of the move steps, not steps.
        assert!(!dag
            .node_weights()
            .any(|step| matches!(step, Step::Delete { .. } | Step::Copy { action: 0 | 3, .. })));
        // Nothing comes after the snapshot.
        let snapshot = node(Step::Snapshot { job });
        assert_eq!(dag.neighbors(snapshot).count(), 0);
        assert_eq!(
            dag.neighbors_directed(snapshot, petgraph::Direction::Incoming)
                .count(),
            dag.node_count() - 1
        );
    }
}
