//! Tidy tests (as rust-analyzer keeps them): facts about the workspace that no compiler checks,
//! read from `cargo metadata` and run by `cargo test -p xtask` (part of `cargo xtask test`).
//!
//! - **Layering**: each crate's normal dependencies, with the features a user of that crate gets
//!   by default, never reach the crates ARCHITECTURE.md's crate table says it never compiles
//!   (the tokenizer, prometheus, clap, libtorch...): the table is the one statement of the rules. Features of our own crates are evaluated exactly; a crates.io crate's
//!   dependencies are taken from the workspace's resolve, which can only over-count.
//! - **The map**: ARCHITECTURE.md's crate table lists every member but xtask with exactly its
//!   normal dependencies among our crates, and rules for each.
//! - **Layers inside dendrite-core**: ARCHITECTURE.md's module table says which paths each
//!   layer's modules never name (the wire-neutral core no wire, each wire not the other, none
//!   the facade); every source file of those modules is read, comments left out, and a path
//!   it names against its row fails the test, naming the file and the line.
//! - **The README's examples**: every code block after the two commands is marked as run (by
//!   what) or not (why), and its Rust blocks are the facade's doctests.
//! - **The Python page**: docs/python.md is what `xtask/py/python_api.py` writes from the
//!   Python sources (every public class and method, its signature and a line of purpose).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use serde_json::Value;

/// The workspace as `cargo metadata` describes it.
pub struct Workspace {
    packages: BTreeMap<String, Value>,
    members: BTreeSet<String>,
    /// Resolve node id -> normal dependency ids.
    resolved: BTreeMap<String, Vec<String>>,
    /// Package id -> name.
    names: BTreeMap<String, String>,
}

impl Workspace {
    /// Runs `cargo metadata` in the workspace root.
    pub fn load() -> Result<Self> {
        Self::from_metadata(&crate::util::cargo_metadata(&[])?)
    }

    fn from_metadata(metadata: &Value) -> Result<Self> {
        let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
        let str_of = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let member_ids: BTreeSet<String> = list(&metadata["workspace_members"])
            .iter()
            .map(str_of)
            .collect();
        let mut packages = BTreeMap::new();
        let mut members = BTreeSet::new();
        let mut names = BTreeMap::new();
        for package in list(&metadata["packages"]) {
            let (id, name) = (str_of(&package["id"]), str_of(&package["name"]));
            names.insert(id.clone(), name.clone());
            if member_ids.contains(&id) {
                members.insert(name.clone());
                packages.insert(name, package);
            }
        }
        let mut resolved = BTreeMap::new();
        for node in list(&metadata["resolve"]["nodes"]) {
            let normal = list(&node["deps"])
                .iter()
                .filter(|dep| {
                    list(&dep["dep_kinds"])
                        .iter()
                        .any(|kind| kind["kind"].is_null())
                })
                .map(|dep| str_of(&dep["pkg"]))
                .collect();
            resolved.insert(str_of(&node["id"]), normal);
        }
        Ok(Workspace {
            packages,
            members,
            resolved,
            names,
        })
    }

    /// Our crates, xtask excepted.
    pub fn members(&self) -> impl Iterator<Item = &str> {
        self.members
            .iter()
            .map(String::as_str)
            .filter(|m| *m != "xtask")
    }

    /// `member`'s normal dependencies among our crates, optional ones included.
    pub fn our_dependencies(&self, member: &str) -> BTreeSet<String> {
        self.dependencies(member)
            .filter(|dep| self.members.contains(str_field(dep, "name")))
            .map(|dep| str_field(dep, "name").to_owned())
            .collect()
    }

    /// Every package name a user of `member` compiles as a normal dependency, with `member`'s
    /// default features.
    pub fn normal_closure(&self, member: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut external = Vec::new();
        self.visit_member(member, &BTreeSet::new(), true, &mut seen, &mut external);
        let mut visited_ids = BTreeSet::new();
        while let Some(id) = external.pop() {
            if !visited_ids.insert(id.clone()) {
                continue;
            }
            if let Some(name) = self.names.get(&id) {
                seen.insert(name.clone());
            }
            external.extend(self.resolved.get(&id).cloned().unwrap_or_default());
        }
        seen
    }

    fn dependencies(&self, member: &str) -> impl Iterator<Item = &Value> {
        self.packages
            .get(member)
            .and_then(|p| p["dependencies"].as_array())
            .into_iter()
            .flatten()
            .filter(|dep| dep["kind"].is_null())
    }

    fn visit_member(
        &self,
        member: &str,
        requested: &BTreeSet<String>,
        default: bool,
        seen: &mut BTreeSet<String>,
        external: &mut Vec<String>,
    ) {
        seen.insert(member.to_owned());
        let package = &self.packages[member];
        let (enabled_deps, dep_features) = enabled(package, requested, default);
        let member_id = package["id"].as_str().unwrap_or_default();
        for dep in self.dependencies(member) {
            let name = str_field(dep, "name");
            let key = dep["rename"].as_str().unwrap_or(name);
            if dep["optional"].as_bool() == Some(true) && !enabled_deps.contains(key) {
                continue;
            }
            if self.members.contains(name) {
                let mut features: BTreeSet<String> = dep["features"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str().map(str::to_owned))
                    .collect();
                features.extend(dep_features.get(key).cloned().unwrap_or_default());
                let default = dep["uses_default_features"].as_bool() != Some(false);
                self.visit_member(name, &features, default, seen, external);
            } else {
                let ids = self.resolved.get(member_id).cloned().unwrap_or_default();
                external.extend(
                    ids.into_iter()
                        .filter(|id| self.names.get(id).map(String::as_str) == Some(name)),
                );
            }
        }
    }
}

fn str_field<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field].as_str().unwrap_or_default()
}

/// The optional dependencies `requested` (plus `default`) turns on in `package`, and the
/// features it asks of each dependency (`dep/feature`).
fn enabled(
    package: &Value,
    requested: &BTreeSet<String>,
    default: bool,
) -> (BTreeSet<String>, BTreeMap<String, BTreeSet<String>>) {
    let table = &package["features"];
    let mut pending: Vec<String> = requested.iter().cloned().collect();
    if default && table.get("default").is_some() {
        pending.push("default".into());
    }
    let (mut features, mut deps) = (BTreeSet::new(), BTreeSet::new());
    let mut dep_features: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    while let Some(feature) = pending.pop() {
        if let Some(dep) = feature.strip_prefix("dep:") {
            deps.insert(dep.to_owned());
        } else if let Some((dep, wanted)) = feature.split_once('/') {
            let weak = dep.ends_with('?');
            let dep = dep.trim_end_matches('?');
            if !weak {
                deps.insert(dep.to_owned());
            }
            dep_features
                .entry(dep.to_owned())
                .or_default()
                .insert(wanted.to_owned());
        } else if features.insert(feature.clone()) {
            match table.get(&feature).and_then(Value::as_array) {
                Some(entries) => {
                    pending.extend(entries.iter().filter_map(|e| e.as_str().map(str::to_owned)))
                }
                // An optional dependency's implicit feature.
                None => {
                    deps.insert(feature);
                }
            }
        }
    }
    (deps, dep_features)
}

/// The names a table cell writes in backticks, in order.
fn names_in<T: FromIterator<String>>(cell: &str) -> T {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Rows of ARCHITECTURE.md's crate table: crate -> (our dependencies, never compiles).
pub fn architecture_table(text: &str) -> BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // | `crate` | what it owns | depends on | never compiles |
            let [_, name, _, deps, forbidden, _] = cells[..] else {
                return None;
            };
            let name = name.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_owned(), (names_in(deps), names_in(forbidden))))
        })
        .collect()
}

/// A row of ARCHITECTURE.md's module table: a layer of dendrite-core, its modules (folders or
/// files under `dendrite-core/src/`) and the paths none of them may name.
#[derive(Debug, PartialEq)]
pub struct ModuleLayer {
    /// The layer's name.
    pub layer: String,
    /// Its modules.
    pub modules: Vec<String>,
    /// Paths its code never names (`crate::http`, `dendrite_wire`).
    pub never: Vec<String>,
}

/// Rows of ARCHITECTURE.md's module table (five cells: layer, modules, may name, never names,
/// owns; the crate table's rows have four).
pub fn module_table(text: &str) -> Vec<ModuleLayer> {
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // | layer | `modules` | may name | never names | owns |
            let [_, layer, modules, _, never, _, _] = cells[..] else {
                return None;
            };
            let modules: Vec<String> = names_in(modules);
            (!modules.is_empty()).then(|| ModuleLayer {
                layer: layer.to_owned(),
                modules,
                never: names_in(never),
            })
        })
        .collect()
}

/// Where the code of `source` (one Rust file, comments left out) names one of `never`: each as
/// `line number: path`. A path is named when it is followed by neither a letter, a digit nor
/// an underscore (`crate::http` is not `crate::https`).
pub fn named_paths(source: &str, never: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for (number, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        for path in never {
            let named = code.match_indices(path.as_str()).any(|(at, _)| {
                let after = code[at + path.len()..].chars().next();
                let before = code[..at].chars().next_back();
                let boundary =
                    |c: Option<char>| !c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                boundary(after) && boundary(before)
            });
            if named {
                found.push(format!("{}: {path}", number + 1));
            }
        }
    }
    found
}

/// Every `.rs` file under `path` (itself, when it is one).
fn rust_files(path: &std::path::Path) -> Vec<std::path::PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
        files.extend(rust_files(&entry.path()));
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> Workspace {
        Workspace::load().expect("cargo metadata")
    }

    /// ARCHITECTURE.md's crate table: crate -> (our dependencies, never compiles).
    fn table() -> BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
        let text = std::fs::read_to_string(crate::util::root().join("ARCHITECTURE.md"))
            .expect("ARCHITECTURE.md");
        architecture_table(&text)
    }

    #[test]
    fn no_crate_compiles_what_its_layer_forbids() {
        let workspace = workspace();
        let mut failures = Vec::new();
        for (member, (_, forbidden)) in table() {
            assert!(
                workspace.members().any(|m| m == member),
                "ARCHITECTURE.md's table names {member}, which is not a member"
            );
            let closure = workspace.normal_closure(&member);
            for crate_name in forbidden {
                if closure.contains(&crate_name) {
                    failures.push(format!("{member} compiles {crate_name}"));
                }
            }
        }
        assert!(failures.is_empty(), "layering broken: {failures:#?}");
    }

    #[test]
    fn every_member_has_rules() {
        let table = table();
        for member in workspace().members() {
            let rules = table.get(member).map(|(_, forbidden)| forbidden.len());
            assert!(
                rules.is_some_and(|n| n > 0),
                "{member} has no row, or no 'never compiles' crates, in ARCHITECTURE.md's table"
            );
        }
    }

    #[test]
    fn the_table_parser_reads_rows_and_only_rows() {
        let text = "| crate | owns | depends on | never compiles |\n|---|---|---|---|\n\
                    | `a` | x | `b`, `c` (feature *f*) | `d` |\n| not a row |\n";
        let table = architecture_table(text);
        assert_eq!(table.len(), 1);
        let (deps, forbidden) = &table["a"];
        assert_eq!(deps.iter().collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(forbidden.iter().collect::<Vec<_>>(), ["d"]);
    }

    #[test]
    fn the_closure_sees_what_it_should() {
        // The check is only worth something if it finds crates that are there.
        let workspace = workspace();
        let format = workspace.normal_closure("dendrite-format");
        assert!(format.contains("tokenizers") && format.contains("onig"));
        let cli = workspace.normal_closure("dendrite-cli");
        assert!(cli.contains("clap") && cli.contains("dendrite-axon"));
        assert!(cli.contains("prometheus"), "the CLI's facade has metrics");
        let facade = workspace.normal_closure("dendrite");
        assert!(
            facade.contains("prometheus"),
            "metrics is a default feature"
        );
    }

    #[test]
    fn architecture_md_agrees_with_cargo() {
        let workspace = workspace();
        let table = table();
        let documented: BTreeSet<&str> = table.keys().map(String::as_str).collect();
        let members: BTreeSet<&str> = workspace.members().collect();
        assert_eq!(documented, members, "ARCHITECTURE.md's crate table rows");
        for (member, (deps, _)) in &table {
            assert_eq!(
                deps,
                &workspace.our_dependencies(member),
                "ARCHITECTURE.md: what {member} depends on"
            );
        }
    }

    /// Every code block of the README after the first (the two commands CI runs in a clean
    /// shell) says on the line before it whether something runs it and what, or why not
    /// (`<!-- run: ... -->`, `<!-- not run: ... -->`); the Rust ones are compiled as the
    /// facade's doctests, so that mark must be there too.
    #[test]
    fn every_readme_code_block_says_what_runs_it_or_why_nothing_does() {
        let root = crate::util::root();
        let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
        let lines: Vec<&str> = readme.lines().collect();
        let mut inside = false;
        let mut openings = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if line.starts_with("```") {
                if !inside {
                    openings.push(i);
                }
                inside = !inside;
            }
        }
        assert!(!inside, "an unclosed code block");
        assert!(openings.len() > 1, "the README has no examples?");
        let mut unmarked = Vec::new();
        for &i in &openings[1..] {
            let mark = lines[..i].iter().rev().find(|l| !l.trim().is_empty());
            let marked = mark.is_some_and(|m| {
                (m.starts_with("<!-- run: ") || m.starts_with("<!-- not run: "))
                    && m.ends_with("-->")
            });
            if !marked {
                unmarked.push(format!("line {}: {}", i + 1, lines[i]));
            }
        }
        assert!(
            unmarked.is_empty(),
            "blocks without a run mark: {unmarked:#?}"
        );
        let facade = std::fs::read_to_string(root.join("dendrite/src/lib.rs")).expect("lib.rs");
        assert!(
            facade.contains("#[doc = include_str!(\"../../README.md\")]"),
            "the README's Rust blocks are no longer compiled as doctests"
        );
    }

    /// docs/python.md is what `xtask/py/python_api.py` writes from the Python sources and
    /// `_native.pyi`, every public method with a line of purpose: the page cannot drift.
    #[test]
    fn the_python_api_page_is_what_the_code_declares() {
        let root = crate::util::root();
        let output = std::process::Command::new("python3")
            .arg(root.join("xtask/py/python_api.py"))
            .arg("--check")
            .arg(root.join("docs/python.md"))
            .output()
            .expect("python3");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    #[test]
    fn no_core_module_names_what_its_layer_forbids() {
        let text = std::fs::read_to_string(crate::util::root().join("ARCHITECTURE.md"))
            .expect("ARCHITECTURE.md");
        let layers = module_table(&text);
        let names: Vec<&str> = layers.iter().map(|l| l.layer.as_str()).collect();
        assert_eq!(
            names,
            ["core", "3.x wire", "10.x wire", "facade"],
            "module table rows"
        );
        let src = crate::util::root().join("dendrite-core/src");
        let mut failures = Vec::new();
        for layer in &layers {
            for module in &layer.modules {
                let path = [src.join(module), src.join(format!("{module}.rs"))]
                    .into_iter()
                    .find(|p| p.exists())
                    .unwrap_or_else(|| panic!("module table: no module {module}"));
                for file in rust_files(&path) {
                    let source = std::fs::read_to_string(&file).expect("source");
                    for found in named_paths(&source, &layer.never) {
                        failures.push(format!("{} ({}): {found}", file.display(), layer.layer));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "layers broken: {failures:#?}");
        // Every file of dendrite-core/src belongs to a layer.
        let listed: Vec<std::path::PathBuf> = layers
            .iter()
            .flat_map(|l| l.modules.iter())
            .flat_map(|m| {
                [src.join(m), src.join(format!("{m}.rs"))]
                    .into_iter()
                    .filter(|p| p.exists())
                    .flat_map(|p| rust_files(&p))
            })
            .collect();
        for file in rust_files(&src) {
            assert!(
                listed.contains(&file),
                "{} is in no layer of the module table",
                file.display()
            );
        }
    }

    #[test]
    fn the_layer_check_finds_what_it_should() {
        let never = ["crate::http".to_owned(), "dendrite_wire".to_owned()];
        let source = "use crate::http::pool;\n// crate::http in a comment\nlet x = crate::https;\n\
                      use dendrite_wire::Tensor; // and dendrite_wire here\nuse my_dendrite_wire;\n";
        assert_eq!(
            named_paths(source, &never),
            ["1: crate::http", "4: dendrite_wire"]
        );
        let text = "| layer | modules | may name | never names | owns |\n|---|---|---|---|---|\n\
                    | core | `neutral` | – | `crate::grpc`, `dendrite_wire` | x |\n\
                    | `crate` | x | `b` | `d` |\n";
        let rows = module_table(text);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].modules, ["neutral"]);
        assert_eq!(rows[0].never, ["crate::grpc", "dendrite_wire"]);
    }
}
