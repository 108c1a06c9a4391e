//! Dependency cycles between resources (`DependsOn`, `Ref`, `Fn::GetAtt`,
//! `Fn::Sub`), which CloudFormation rejects ("Circular dependency between
//! resources"). Iterative throughout, so a cycle thousands of resources long
//! cannot overflow the stack. Pure: edges in, cycles out.

use indexmap::IndexMap;

use crate::doc::Span;

/// Resource → the resources it depends on, each with where it says so.
pub type Edges = IndexMap<String, Vec<(String, Span)>>;

/// One cycle: each member with the place where it depends on the next one
/// (the last depends on the first).
pub type Cycle = Vec<(String, Span)>;

/// Every cycle, one per strongly connected component, in template order.
pub fn find(edges: &Edges) -> Vec<Cycle> {
    let index = |name: &str| edges.get_index_of(name);
    // Targets outside `edges` (parameters, undeclared names) cannot close a cycle.
    let succ: Vec<Vec<(usize, Span)>> = edges
        .values()
        .map(|out| {
            out.iter()
                .filter_map(|(to, span)| index(to).map(|i| (i, *span)))
                .collect()
        })
        .collect();
    let mut cycles: Vec<Cycle> = components(&succ)
        .into_iter()
        .filter(|c| c.len() > 1 || succ[c[0]].iter().any(|(to, _)| *to == c[0]))
        .map(|c| walk(&succ, &c, edges))
        .collect();
    cycles.sort_by_key(|c| {
        c.iter()
            .filter_map(|(n, _)| index(n))
            .min()
            .unwrap_or(usize::MAX)
    });
    cycles
}

/// Tarjan's strongly connected components, with an explicit stack.
fn components(succ: &[Vec<(usize, Span)>]) -> Vec<Vec<usize>> {
    const NONE: usize = usize::MAX;
    let n = succ.len();
    let (mut index, mut low) = (vec![NONE; n], vec![0; n]);
    let mut on_stack = vec![false; n];
    let (mut stack, mut out, mut next) = (Vec::new(), Vec::new(), 0);
    for root in 0..n {
        if index[root] != NONE {
            continue;
        }
        // (node, position in its successor list)
        let mut calls = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut pos)) = calls.last_mut() {
            if let Some(&(w, _)) = succ[v].get(*pos) {
                *pos += 1;
                if index[w] == NONE {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                out.push(component);
            }
        }
    }
    out
}

/// One cycle through a component: follow edges inside it until a member
/// repeats (every member has one, so the walk cannot stop early).
fn walk(succ: &[Vec<(usize, Span)>], component: &[usize], edges: &Edges) -> Cycle {
    let mut inside = vec![false; succ.len()];
    component.iter().for_each(|&v| inside[v] = true);
    let mut seen_at = vec![usize::MAX; succ.len()];
    let mut path: Vec<(usize, Span)> = Vec::new();
    let mut v = *component.iter().min().unwrap_or(&0);
    while seen_at[v] == usize::MAX {
        seen_at[v] = path.len();
        let Some(&(next, span)) = succ[v].iter().find(|(w, _)| inside[*w]) else {
            break;
        };
        path.push((v, span));
        v = next;
    }
    let start = seen_at[v].min(path.len());
    path[start..]
        .iter()
        .map(|(i, span)| {
            (
                edges
                    .get_index(*i)
                    .map(|(k, _)| k.clone())
                    .unwrap_or_default(),
                *span,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(line: u32) -> Span {
        Span {
            start: 0,
            end: 0,
            line,
            col: 1,
        }
    }

    fn graph(pairs: &[(&str, &str)]) -> Edges {
        let mut e = Edges::new();
        for (i, (a, b)) in pairs.iter().enumerate() {
            e.entry(a.to_string())
                .or_default()
                .push((b.to_string(), span(i as u32 + 1)));
            e.entry(b.to_string()).or_default();
        }
        e
    }

    fn names(c: &Cycle) -> Vec<&str> {
        c.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn a_chain_has_no_cycle_and_a_loop_is_found_with_each_edge() {
        assert!(find(&graph(&[("A", "B"), ("B", "C")])).is_empty());
        let c = find(&graph(&[("A", "B"), ("B", "C"), ("C", "A"), ("C", "D")]));
        assert_eq!(c.len(), 1);
        assert_eq!(names(&c[0]), ["A", "B", "C"]);
        assert_eq!(
            c[0].iter().map(|(_, s)| s.line).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    #[test]
    fn a_self_reference_is_a_cycle_and_two_loops_are_two() {
        let c = find(&graph(&[("A", "A"), ("B", "C"), ("C", "B")]));
        assert_eq!(
            c.iter().map(names).collect::<Vec<_>>(),
            [vec!["A"], vec!["B", "C"]]
        );
    }

    #[test]
    fn a_cycle_100_000_long_does_not_overflow_the_stack() {
        let n = 100_000;
        let ids: Vec<String> = (0..n).map(|i| format!("R{i}")).collect();
        let mut e = Edges::new();
        for i in 0..n {
            e.insert(ids[i].clone(), vec![(ids[(i + 1) % n].clone(), span(1))]);
        }
        let c = find(&e);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].len(), n);
    }
}
