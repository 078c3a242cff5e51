//! Tree ensembles evaluated natively: a binary random forest converted once from its
//! scikit-learn pickle by `tools/models/convert_forest.py` (whose docstring defines the
//! file) and scored as scikit-learn scores it. Hand-written because no maintained crate
//! reads scikit-learn's trees without Python, and evaluation is a dozen lines.

use std::path::Path;

use crate::ModelError;

const MAGIC: &[u8; 8] = b"SOLASRF1";
/// Bytes of one node in the file: left, right, feature (i32), threshold, p (f64).
const NODE_BYTES: usize = 4 * 3 + 8 * 2;

/// One tree's nodes, flat; node 0 is the root.
#[derive(Debug, Clone)]
struct Tree {
    left: Vec<i32>,
    right: Vec<i32>,
    feature: Vec<u32>,
    threshold: Vec<f64>,
    /// The share of the positive class at each node (read at leaves).
    p: Vec<f64>,
}

/// A binary random forest: the mean over its trees of the positive class's share at the
/// leaf each reaches, as scikit-learn's `predict_proba(X)[:, 1]`.
#[derive(Debug, Clone)]
pub struct Forest {
    features: usize,
    trees: Vec<Tree>,
}

impl Forest {
    pub fn read(path: &Path) -> Result<Forest, ModelError> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
        Forest::from_bytes(&bytes).map_err(|why| ModelError::Invalid {
            path: path.to_path_buf(),
            why,
        })
    }

    /// The forest in `bytes`, every node checked so that scoring cannot index out of
    /// bounds or loop.
    pub fn from_bytes(bytes: &[u8]) -> Result<Forest, String> {
        let mut at = Reader { bytes, pos: 0 };
        if at.take(8)? != MAGIC {
            return Err("not a Solas forest file (no SOLASRF1 header)".into());
        }
        let features = at.u32()? as usize;
        let n_trees = at.u32()? as usize;
        if features == 0 || n_trees == 0 {
            return Err("a forest needs features and trees".into());
        }
        let mut trees = Vec::with_capacity(n_trees.min(100_000));
        for t in 0..n_trees {
            let nodes = at.u32()? as usize;
            if nodes == 0 || nodes.saturating_mul(NODE_BYTES) > at.bytes.len() - at.pos {
                return Err(format!("tree {t}: {nodes} nodes do not fit the file"));
            }
            let mut tree = Tree {
                left: Vec::with_capacity(nodes),
                right: Vec::with_capacity(nodes),
                feature: Vec::with_capacity(nodes),
                threshold: Vec::with_capacity(nodes),
                p: Vec::with_capacity(nodes),
            };
            for n in 0..nodes {
                let (left, right, feature) = (at.i32()?, at.i32()?, at.i32()?);
                let (threshold, p) = (at.f64()?, at.f64()?);
                let leaf = left == -1 && right == -1;
                // Children come after their parent in scikit-learn's depth-first order,
                // which also rules out cycles.
                let child_ok = |c: i32| c > n as i32 && (c as usize) < nodes;
                let split_ok = child_ok(left)
                    && child_ok(right)
                    && feature >= 0
                    && (feature as usize) < features;
                if !leaf && !split_ok {
                    return Err(format!("tree {t} node {n}: bad children or feature"));
                }
                if leaf && !(0.0..=1.0).contains(&p) {
                    return Err(format!("tree {t} node {n}: share {p} outside 0..1"));
                }
                tree.left.push(left);
                tree.right.push(right);
                tree.feature.push(feature.max(0) as u32);
                tree.threshold.push(threshold);
                tree.p.push(p);
            }
            trees.push(tree);
        }
        if at.pos != bytes.len() {
            return Err(format!(
                "{} bytes after the last tree",
                bytes.len() - at.pos
            ));
        }
        Ok(Forest { features, trees })
    }

    pub fn features(&self) -> usize {
        self.features
    }

    pub fn trees(&self) -> usize {
        self.trees.len()
    }

    /// The positive class's probability for `x` (one value per feature). Features are
    /// rounded to f32 before comparison, as scikit-learn casts its input; the trees' shares
    /// are summed in tree order and divided once, as scikit-learn accumulates them.
    pub fn score(&self, x: &[f64]) -> Result<f64, ModelError> {
        if x.len() != self.features {
            return Err(ModelError::Inputs(format!(
                "{} features given, the forest takes {}",
                x.len(),
                self.features
            )));
        }
        let x32: Vec<f64> = x.iter().map(|&v| v as f32 as f64).collect();
        let mut sum = 0.0;
        for tree in &self.trees {
            let mut node = 0usize;
            while tree.left[node] != -1 {
                node = if x32[tree.feature[node] as usize] <= tree.threshold[node] {
                    tree.left[node] as usize
                } else {
                    tree.right[node] as usize
                };
            }
            sum += tree.p[node];
        }
        Ok(sum / self.trees.len() as f64)
    }
}

/// Little-endian reads that fail rather than panic at the end of the bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("file ends at byte {}", self.bytes.len()))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i32(&mut self) -> Result<i32, String> {
        Ok(self.u32()? as i32)
    }
    fn f64(&mut self) -> Result<f64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stump on feature 0 at 0.5: left share 0.25, right 1.0.
    fn stump(threshold: f64) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend(1u32.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend(3u32.to_le_bytes());
        for (l, r, f, t, p) in [
            (1i32, 2i32, 0i32, threshold, 0.5f64),
            (-1, -1, -1, -2.0f64, 0.25f64),
            (-1, -1, -1, -2.0, 1.0),
        ] {
            b.extend(l.to_le_bytes());
            b.extend(r.to_le_bytes());
            b.extend(f.to_le_bytes());
            b.extend(t.to_le_bytes());
            b.extend(p.to_le_bytes());
        }
        b
    }

    #[test]
    fn inputs_are_compared_as_float32_as_scikit_learn_does() {
        // 0.1 as f32 is 0.100000001490116…, above the threshold 0.1 (f64): right.
        let f = Forest::from_bytes(&stump(0.1)).unwrap();
        assert_eq!(f.score(&[0.1]).unwrap(), 1.0);
        assert_eq!(f.score(&[0.09]).unwrap(), 0.25);
        assert!(f.score(&[0.1, 2.0]).is_err());
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_panic() {
        let good = stump(0.5);
        for cut in 0..good.len() {
            assert!(Forest::from_bytes(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut cyclic = good.clone();
        // The root's left child pointing at the root itself.
        cyclic[20..24].copy_from_slice(&0i32.to_le_bytes());
        assert!(Forest::from_bytes(&cyclic).is_err());
        let mut extra = good;
        extra.push(0);
        assert!(Forest::from_bytes(&extra).is_err());
    }
}
