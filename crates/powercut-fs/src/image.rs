//! The durable image: what a disk that honours only the POSIX minimum would hold if the
//! power went out now.
//!
//! The live filesystem (the backing directory) is the page cache; this is the platter.
//! Inodes are identified by their backing inode number, which the pass-through keeps
//! pinned (an `O_PATH` descriptor per inode for the life of the mount), so a number is
//! never reused for another file while the image may still refer to it.
//!
//! What becomes durable, and when:
//! - a file's data (and permission bits) when that file is fsynced or fdatasynced: the
//!   whole current content, read at that moment;
//! - a directory's entries (names created, renamed, linked, unlinked) when that
//!   directory is fsynced: the whole current set of `name -> inode`, read at that moment;
//! - nothing else, ever: not a file's name when the file is fsynced, not a rename when
//!   the file is fsynced, not a new directory's entry in its parent when the new directory
//!   is fsynced. This is stricter than any real journaling filesystem (ext4 commits a new
//!   file's entry with its fsync), which is the point: code that passes here relies on no
//!   filesystem's generosity.
//!
//! Limits of the model (see docs/power-cut.md): a rename between two directories is two
//! independent changes, so a cut may keep the file under both names (or, in the prefix
//! mode, neither, if each directory kept a different part of its history); a directory that
//! ends up reachable under two names is materialised once (the second name is dropped and
//! counted); timestamps, ownership and extended attributes are not modelled; a file whose
//! entry is durable but whose data never was comes back empty (what ext4 without
//! `auto_da_alloc` does), and a directory likewise comes back empty.
//!
//! The prefix mode models a disk that wrote *some* of the unsynced work: at the cut, each
//! file keeps a random prefix of the writes and truncations issued since its last fsync,
//! and each directory a random prefix of its entry changes since its last fsync, each
//! inode independently. A prefix is a legal outcome; a reordering within one file is not
//! modelled.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

/// A backing inode number.
pub type Ino = u64;

/// What an inode is, as far as the image cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
  File,
  Dir,
  /// A symlink's target is written with the inode, so it is durable with its entry.
  Symlink(OsString),
  /// FIFOs, sockets and devices: materialised as empty regular files (tests never
  /// rely on them surviving a cut).
  Other,
}

/// One inode's durable content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
  File(Vec<u8>),
  Dir(BTreeMap<OsString, Ino>),
  Symlink(OsString),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
  pub content: Content,
  pub mode: u32,
}

/// A change of a file's data since its last fsync (kept only in the prefix mode).
#[derive(Clone, Debug)]
pub enum DataOp {
  Write { offset: u64, bytes: Vec<u8> },
  SetLen(u64),
}

/// A change of a directory's entries since its last fsync: the names it touched and
/// what each now names (`None`: removed). A rename within one directory is one change,
/// so no prefix keeps half of it.
pub type DirChange = Vec<(OsString, Option<Ino>)>;

/// The durable state plus, in the prefix mode, the unsynced history since each inode's
/// last flush.
#[derive(Debug)]
pub struct Image {
  root: Ino,
  nodes: HashMap<Ino, Node>,
  /// Every inode the live filesystem has shown, with its kind and mode when first seen,
  /// so an entry made durable before its inode's data gets a placeholder of the right kind.
  seen: HashMap<Ino, (Kind, u32)>,
  keep_history: bool,
  data_history: HashMap<Ino, Vec<DataOp>>,
  dir_history: HashMap<Ino, Vec<DirChange>>,
}

/// What a materialisation did that the model cannot represent exactly.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Anomalies {
  /// Directory names dropped because the directory was already materialised elsewhere.
  pub dropped_dir_names: usize,
}

impl Image {
  /// An image whose durable state is `nodes` (usually the backing tree at mount time).
  pub fn new(root: Ino, nodes: HashMap<Ino, Node>, keep_history: bool) -> Image {
    let seen = nodes
      .iter()
      .map(|(&ino, node)| (ino, (kind_of(&node.content), node.mode)))
      .collect();
    Image {
      root,
      nodes,
      seen,
      keep_history,
      data_history: HashMap::new(),
      dir_history: HashMap::new(),
    }
  }

  /// Reads a whole backing tree as durable (the state after a clean mount).
  pub fn load(dir: &Path, keep_history: bool) -> io::Result<Image> {
    use std::os::unix::fs::MetadataExt;
    let mut nodes = HashMap::new();
    let root = fs::symlink_metadata(dir)?.ino();
    load_dir(dir, root, &mut nodes)?;
    Ok(Image::new(root, nodes, keep_history))
  }

  pub fn root(&self) -> Ino {
    self.root
  }

  /// Tells the image an inode exists live (its kind and mode at first sight).
  pub fn saw(&mut self, ino: Ino, kind: Kind, mode: u32) {
    self.seen.entry(ino).or_insert((kind, mode));
  }

  /// Records an unsynced change of a file's data.
  pub fn data_changed(&mut self, ino: Ino, op: DataOp) {
    if self.keep_history {
      self.data_history.entry(ino).or_default().push(op);
    }
  }

  /// Records an unsynced change of a directory's entries.
  pub fn dir_changed(&mut self, dir: Ino, change: DirChange) {
    if self.keep_history && !change.is_empty() {
      self.dir_history.entry(dir).or_default().push(change);
    }
  }

  /// fsync/fdatasync of a file: its current data and mode become durable.
  pub fn sync_file(&mut self, ino: Ino, data: Vec<u8>, mode: u32) {
    self.nodes.insert(
      ino,
      Node {
        content: Content::File(data),
        mode,
      },
    );
    self.data_history.remove(&ino);
  }

  /// fsync of a directory: its current entries become durable.
  pub fn sync_dir(&mut self, dir: Ino, entries: BTreeMap<OsString, Ino>, mode: u32) {
    self.nodes.insert(
      dir,
      Node {
        content: Content::Dir(entries),
        mode,
      },
    );
    self.dir_history.remove(&dir);
  }

  /// The state the power cut leaves: the durable nodes plus, for each inode, the prefix
  /// of its unsynced history that `keep(len)` (a number in `0..=len`) chooses.
  pub fn cut(&self, keep: &mut dyn FnMut(usize) -> usize) -> Image {
    let mut nodes = self.nodes.clone();
    let new_file = || Content::File(Vec::new());
    self.replay(
      &mut nodes,
      &self.data_history,
      keep,
      new_file,
      |content, op| {
        if let Content::File(data) = content {
          apply_data(data, op);
        }
      },
    );
    let new_dir = || Content::Dir(BTreeMap::new());
    self.replay(
      &mut nodes,
      &self.dir_history,
      keep,
      new_dir,
      |content, change| {
        if let Content::Dir(entries) = content {
          apply_dir_change(entries, change);
        }
      },
    );
    Image {
      root: self.root,
      nodes,
      seen: self.seen.clone(),
      keep_history: false,
      data_history: HashMap::new(),
      dir_history: HashMap::new(),
    }
  }

  /// Replays onto `nodes` the prefix `keep` chooses of each inode's unsynced `history`
  /// (in inode order); an inode never flushed starts as `empty`.
  fn replay<Op>(
    &self,
    nodes: &mut HashMap<Ino, Node>,
    history: &HashMap<Ino, Vec<Op>>,
    keep: &mut dyn FnMut(usize) -> usize,
    empty: fn() -> Content,
    apply: fn(&mut Content, &Op),
  ) {
    for (&ino, ops) in sorted(history) {
      let kept = keep(ops.len()).min(ops.len());
      if kept == 0 {
        continue;
      }
      let mode = self.mode_of(ino);
      let node = nodes.entry(ino).or_insert_with(|| Node {
        content: empty(),
        mode,
      });
      ops[..kept]
        .iter()
        .for_each(|op| apply(&mut node.content, op));
    }
  }

  fn mode_of(&self, ino: Ino) -> u32 {
    self.seen.get(&ino).map_or(0o644, |(_, mode)| *mode)
  }

  /// The durable content of `ino`, or the placeholder a never-flushed inode gets.
  fn content_of(&self, ino: Ino) -> Option<(Content, u32)> {
    if let Some(node) = self.nodes.get(&ino) {
      return Some((node.content.clone(), node.mode));
    }
    let (kind, mode) = self.seen.get(&ino)?;
    let content = match kind {
      Kind::Dir => Content::Dir(BTreeMap::new()),
      Kind::Symlink(target) => Content::Symlink(target.clone()),
      Kind::File | Kind::Other => Content::File(Vec::new()),
    };
    Some((content, *mode))
  }

  /// Writes the image as a real tree into the empty directory `into`.
  pub fn materialize(&self, into: &Path) -> io::Result<Anomalies> {
    let mut anomalies = Anomalies::default();
    let mut files: HashMap<Ino, std::path::PathBuf> = HashMap::new();
    let mut dirs: HashSet<Ino> = HashSet::from([self.root]);
    let mut stack = vec![(self.root, into.to_path_buf())];
    while let Some((dir, path)) = stack.pop() {
      let Some((Content::Dir(entries), _)) = self.content_of(dir) else {
        continue;
      };
      for (name, &ino) in &entries {
        let at = path.join(name);
        let Some((content, mode)) = self.content_of(ino) else {
          continue;
        };
        match content {
          Content::Dir(_) => {
            if !dirs.insert(ino) {
              anomalies.dropped_dir_names += 1;
              continue;
            }
            fs::create_dir(&at)?;
            fs::set_permissions(&at, fs::Permissions::from_mode(mode & 0o7777))?;
            stack.push((ino, at));
          }
          Content::Symlink(target) => symlink(&target, &at)?,
          Content::File(data) => match files.get(&ino) {
            Some(first) => fs::hard_link(first, &at)?,
            None => {
              fs::write(&at, &data)?;
              fs::set_permissions(&at, fs::Permissions::from_mode(mode & 0o7777))?;
              files.insert(ino, at);
            }
          },
        }
      }
    }
    Ok(anomalies)
  }
}

/// History maps in inode order, so a seeded cut is reproducible.
fn sorted<T>(map: &HashMap<Ino, T>) -> Vec<(&Ino, &T)> {
  let mut items: Vec<_> = map.iter().collect();
  items.sort_by_key(|(ino, _)| **ino);
  items
}

fn kind_of(content: &Content) -> Kind {
  match content {
    Content::File(_) => Kind::File,
    Content::Dir(_) => Kind::Dir,
    Content::Symlink(target) => Kind::Symlink(target.clone()),
  }
}

fn apply_dir_change(entries: &mut BTreeMap<OsString, Ino>, change: &DirChange) {
  for (name, target) in change {
    match target {
      Some(ino) => entries.insert(name.clone(), *ino),
      None => entries.remove(name),
    };
  }
}

fn apply_data(data: &mut Vec<u8>, op: &DataOp) {
  match op {
    DataOp::SetLen(len) => data.resize(*len as usize, 0),
    DataOp::Write { offset, bytes } => {
      let start = *offset as usize;
      let end = start + bytes.len();
      if data.len() < end {
        data.resize(end, 0);
      }
      data[start..end].copy_from_slice(bytes);
    }
  }
}

fn load_dir(dir: &Path, ino: Ino, nodes: &mut HashMap<Ino, Node>) -> io::Result<()> {
  use std::os::unix::fs::MetadataExt;
  let mut entries = BTreeMap::new();
  for entry in fs::read_dir(dir)? {
    let entry = entry?;
    let path = entry.path();
    let meta = fs::symlink_metadata(&path)?;
    entries.insert(entry.file_name(), meta.ino());
    if nodes.contains_key(&meta.ino()) {
      continue; // a second hard link
    }
    if meta.is_dir() {
      load_dir(&path, meta.ino(), nodes)?;
    } else {
      let (content, mode) = (leaf_content(&path, &meta)?, meta.mode() & 0o7777);
      nodes.insert(meta.ino(), Node { content, mode });
    }
  }
  let (content, mode) = (
    Content::Dir(entries),
    fs::symlink_metadata(dir)?.mode() & 0o7777,
  );
  nodes.insert(ino, Node { content, mode });
  Ok(())
}

/// What a non-directory holds: a symlink its target, a file its bytes; anything else
/// (a FIFO, a socket) loads as an empty file.
fn leaf_content(path: &Path, meta: &fs::Metadata) -> io::Result<Content> {
  let kind = meta.file_type();
  Ok(if kind.is_symlink() {
    Content::Symlink(fs::read_link(path)?.into_os_string())
  } else if kind.is_file() {
    Content::File(fs::read(path)?)
  } else {
    Content::File(Vec::new())
  })
}

#[cfg(test)]
#[path = "image_tests.rs"]
mod tests;
