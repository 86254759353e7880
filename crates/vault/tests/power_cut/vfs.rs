//! A power-cut VFS: a shim over SQLite's own `unix` VFS, registered as the process's default so
//! the vault's ordinary `Connection::open` goes through it without the vault knowing.
//!
//! Every write and truncation of a database, WAL or journal file under the watched folder goes to
//! the real file as usual (SQLite reads back what it wrote, as from the kernel's page cache) and
//! is also remembered, per file, as *pending*. A successful `xSync` of a file makes its pending
//! operations *durable*. At an operation chosen by the test the power goes: that operation and
//! every one after it fails with an I/O error, so nothing more can be acknowledged. Once every
//! connection is closed, [`cut`] rebuilds each file from its durable image plus what the chosen
//! [`Style`] lets survive of the pending operations, in 4,096-byte sectors (the `unix` VFS's
//! sector size): nothing, an in-order prefix whose last write is torn at a sector boundary, a
//! random subset (a disk reorders unsynced writes), with some sectors garbage, or everything. Bytes outside a
//! write's range are never touched: the `unix` VFS promises SQLite powersafe overwrite.
//!
//! What it does not model: directory entries (a file's creation is durable with its first sync,
//! as SQLite's `unix` VFS syncs the directory then; a deletion is durable at once), the
//! shared-memory index (left as the crashed process left it; SQLite rebuilds it from the WAL when
//! the first connection opens), files written without SQLite (the display key beside the vault,
//! written once before the cuts start), a disk that lies about `fsync`, or wear and bit rot.
//!
//! This is test code and the only `unsafe` in the workspace: SQLite calls these functions through
//! C function pointers, and each one only forwards to the `unix` VFS what it was given.

#![allow(unsafe_code)]

use std::collections::HashMap;
use std::ffi::{CStr, c_int, c_void};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard, Once};

use rusqlite::ffi;

/// The `unix` VFS's sector size: the unit a torn write is cut at.
pub const SECTOR: u64 = 4096;

/// What survives of the writes after each file's last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Style {
    /// None of them.
    Dropped,
    /// The first few, in order, the last of them torn after a whole number of sectors.
    TornPrefix,
    /// Each sector independently, as a disk that reorders writes leaves them.
    Scattered,
    /// As `Scattered`, with one sector in eight filled with garbage instead.
    Garbage,
    /// All of them: the disk wrote back its cache before the power went (as after a SIGKILL);
    /// the one change in flight is then often there although it never returned.
    Kept,
}

pub const STYLES: [Style; 5] = [
    Style::Dropped,
    Style::TornPrefix,
    Style::Scattered,
    Style::Garbage,
    Style::Kept,
];

/// What one cut did to the unsynced writes.
#[derive(Debug, Default, Clone, Copy)]
pub struct CutReport {
    /// Writes and truncations issued after their file's last sync.
    pub pending_ops: u64,
    /// Of their sectors: written as SQLite wrote them, lost, or garbage.
    pub sectors_kept: u64,
    pub sectors_lost: u64,
    pub sectors_garbage: u64,
    /// Files created and never synced that vanished.
    pub files_vanished: u64,
    /// The database file itself had unsynced writes: the power went in a checkpoint.
    pub database_file_unsynced: bool,
}

enum Op {
    Write { offset: u64, data: Vec<u8> },
    Truncate { size: u64 },
}

struct Image {
    /// The file as it would be found after a power cut now; `None`: it would not exist.
    durable: Option<Vec<u8>>,
    pending: Vec<Op>,
    /// The database file (not its WAL or journal).
    main_db: bool,
}

#[derive(Default)]
struct State {
    watched: Option<PathBuf>,
    images: HashMap<PathBuf, Image>,
    handles: HashMap<u64, PathBuf>,
    next_handle: u64,
    ops: u64,
    cut_at: Option<u64>,
    dead: bool,
    /// A disk that acknowledges fsync and keeps nothing: for the control only.
    lying: bool,
}

static STATE: LazyLock<Mutex<State>> = LazyLock::new(Default::default);
static REAL: AtomicPtr<ffi::sqlite3_vfs> = AtomicPtr::new(ptr::null_mut());
static INSTALL: Once = Once::new();

fn state() -> MutexGuard<'static, State> {
    // A panic elsewhere in the test must not hide its own message behind a poisoned lock.
    STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The file object SQLite allocates for us (`szOsFile` bytes): our header, then the real
/// `unix` file object right after it.
#[repr(C)]
struct ShimFile {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    /// 0: not watched (temporary files, files elsewhere); otherwise a key into `handles`.
    handle: u64,
}

const HEADER: usize = std::mem::size_of::<ShimFile>().next_multiple_of(16);

/// Make the shim SQLite's default VFS for this process (once).
pub fn install() {
    INSTALL.call_once(|| {
        // SAFETY: sqlite3_vfs_find(NULL) returns the default VFS, which lives as long as the
        // process; we copy it and register the copy, leaked so it lives as long too.
        unsafe {
            let real = ffi::sqlite3_vfs_find(ptr::null());
            assert!(!real.is_null(), "SQLite has no default VFS");
            REAL.store(real, Ordering::Release);
            let mut shim = *real;
            shim.zName = c"fieldkit-power-cut".as_ptr();
            shim.pNext = ptr::null_mut();
            shim.szOsFile = (*real).szOsFile + HEADER as c_int;
            // The unix VFS's other methods read at most pAppData and mxPathname from the VFS
            // object, which the copy keeps; open and delete are ours.
            shim.xOpen = Some(x_open);
            shim.xDelete = Some(x_delete);
            let shim = Box::leak(Box::new(shim));
            let rc = ffi::sqlite3_vfs_register(shim, 1);
            assert_eq!(rc, ffi::SQLITE_OK, "registering the power-cut VFS");
        }
    });
}

/// Watch the files under `dir` from now on; what is on disk now is durable.
pub fn watch(dir: &Path) {
    let mut state = state();
    assert!(state.handles.is_empty(), "watch with files open");
    state.watched = Some(dir.to_owned());
    state.images.clear();
    state.cut_at = None;
    state.dead = false;
}

/// The power goes at the `after`-th write, sync, truncation or deletion from now.
pub fn arm(after: u64) {
    let mut state = state();
    state.cut_at = Some(state.ops + after.max(1));
}

/// From now on a sync returns success and makes nothing durable (a control: a vault on such a
/// disk must be seen to lose what it acknowledged).
pub fn set_lying_disk(lying: bool) {
    state().lying = lying;
}

pub fn is_dead() -> bool {
    state().dead
}

/// Writes, syncs, truncations and deletions of watched files so far.
pub fn ops() -> u64 {
    state().ops
}

/// The power is back: rebuild every watched file from what survived, as `style` decides with
/// `random`. Every connection must be closed (a running process does not survive a cut).
pub fn cut(style: Style, random: &mut dyn FnMut() -> u64) -> std::io::Result<CutReport> {
    let mut state = state();
    assert!(
        state.handles.is_empty(),
        "a connection is still open at the power cut"
    );
    let mut report = CutReport::default();
    let mut images: Vec<(PathBuf, Image)> = state.images.drain().collect();
    images.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, image) in images {
        report.pending_ops += image.pending.len() as u64;
        report.database_file_unsynced |= image.main_db && !image.pending.is_empty();
        let created_unsynced = image.durable.is_none();
        if created_unsynced && (image.pending.is_empty() || random().is_multiple_of(2)) {
            report.files_vanished += u64::from(path.exists());
            remove_if_there(&path)?;
            continue;
        }
        let mut bytes = image.durable.unwrap_or_default();
        survive(&mut bytes, &image.pending, style, random, &mut report);
        std::fs::write(&path, &bytes)?;
    }
    state.cut_at = None;
    state.dead = false;
    Ok(report)
}

fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Apply to `bytes` what survives of `pending`.
fn survive(
    bytes: &mut Vec<u8>,
    pending: &[Op],
    style: Style,
    random: &mut dyn FnMut() -> u64,
    report: &mut CutReport,
) {
    let sectors_of = |op: &Op| match op {
        Op::Write { offset, data } => sectors(*offset, data.len()).len() as u64,
        Op::Truncate { .. } => 1,
    };
    match style {
        Style::Dropped => {
            report.sectors_lost += pending.iter().map(sectors_of).sum::<u64>();
        }
        Style::Kept => {
            for op in pending {
                report.sectors_kept += sectors_of(op);
                apply(bytes, op);
            }
        }
        Style::TornPrefix => {
            let whole = (random() % (pending.len() as u64 + 1)) as usize;
            for op in &pending[..whole] {
                report.sectors_kept += sectors_of(op);
                apply(bytes, op);
            }
            if let Some(torn) = pending.get(whole) {
                let total = sectors_of(torn);
                let kept = random() % total.max(1);
                if let Op::Write { offset, data } = torn {
                    for (at, range) in sectors(*offset, data.len()).into_iter().take(kept as usize)
                    {
                        write_at(bytes, at, &data[range]);
                    }
                }
                report.sectors_kept += kept;
                report.sectors_lost += total - kept;
            }
            for op in pending.iter().skip(whole + 1) {
                report.sectors_lost += sectors_of(op);
            }
        }
        Style::Scattered | Style::Garbage => {
            for op in pending {
                match op {
                    Op::Truncate { .. } => {
                        if random().is_multiple_of(2) {
                            report.sectors_kept += 1;
                            apply(bytes, op);
                        } else {
                            report.sectors_lost += 1;
                        }
                    }
                    Op::Write { offset, data } => {
                        for (at, range) in sectors(*offset, data.len()) {
                            if style == Style::Garbage && random().is_multiple_of(8) {
                                let noise: Vec<u8> =
                                    range.clone().map(|_| random() as u8).collect();
                                write_at(bytes, at, &noise);
                                report.sectors_garbage += 1;
                            } else if random().is_multiple_of(2) {
                                write_at(bytes, at, &data[range]);
                                report.sectors_kept += 1;
                            } else {
                                report.sectors_lost += 1;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A write split at sector boundaries: each piece's file offset and its range in the data.
fn sectors(offset: u64, len: usize) -> Vec<(u64, std::ops::Range<usize>)> {
    let mut pieces = Vec::new();
    let mut start = 0usize;
    while start < len {
        let at = offset + start as u64;
        let to_boundary = (SECTOR - at % SECTOR) as usize;
        let end = (start + to_boundary).min(len);
        pieces.push((at, start..end));
        start = end;
    }
    pieces
}

fn write_at(bytes: &mut Vec<u8>, at: u64, data: &[u8]) {
    let at = at as usize;
    if bytes.len() < at + data.len() {
        bytes.resize(at + data.len(), 0);
    }
    bytes[at..at + data.len()].copy_from_slice(data);
}

fn apply(bytes: &mut Vec<u8>, op: &Op) {
    match op {
        Op::Write { offset, data } => write_at(bytes, *offset, data),
        Op::Truncate { size } => bytes.resize(*size as usize, 0),
    }
}

fn real() -> *mut ffi::sqlite3_vfs {
    REAL.load(Ordering::Acquire)
}

/// SAFETY (for every method below): `file` is a file object SQLite allocated with our
/// `szOsFile` and that `x_open` initialised, so it starts with a `ShimFile` whose `real`
/// points at the initialised `unix` file object behind it.
unsafe fn shim<'a>(file: *mut ffi::sqlite3_file) -> &'a ShimFile {
    unsafe { &*(file as *const ShimFile) }
}

unsafe fn methods<'a>(file: &ShimFile) -> &'a ffi::sqlite3_io_methods {
    unsafe { &*(*file.real).pMethods }
}

fn path_of(name: *const std::ffi::c_char) -> Option<PathBuf> {
    if name.is_null() {
        return None;
    }
    // SAFETY: SQLite passes a NUL-terminated path.
    let name = unsafe { CStr::from_ptr(name) };
    name.to_str().ok().map(PathBuf::from)
}

unsafe extern "C" fn x_open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let kinds = ffi::SQLITE_OPEN_MAIN_DB | ffi::SQLITE_OPEN_WAL | ffi::SQLITE_OPEN_MAIN_JOURNAL;
    let watched_path = path_of(name).filter(|path| {
        flags & kinds != 0
            && state()
                .watched
                .as_ref()
                .is_some_and(|dir| path.starts_with(dir))
    });
    // Read before the real open creates the file: a file that did not exist is not durable.
    // A file already watched keeps its image (what is on disk may not be durable).
    let before = watched_path.as_ref().map(|path| {
        if state().images.contains_key(path) {
            None
        } else {
            std::fs::read(path).ok()
        }
    });
    unsafe {
        let real_file = (file as *mut u8).add(HEADER) as *mut ffi::sqlite3_file;
        ptr::write(
            file as *mut ShimFile,
            ShimFile {
                base: ffi::sqlite3_file {
                    pMethods: ptr::null(),
                },
                real: real_file,
                handle: 0,
            },
        );
        let open = (*real()).xOpen.expect("the unix VFS opens files");
        let rc = open(real(), name, real_file, flags, out_flags);
        if !(*real_file).pMethods.is_null() {
            // Non-null methods mean SQLite will call our xClose, which closes the real file.
            (*(file as *mut ShimFile)).base.pMethods = &METHODS;
        }
        if rc == ffi::SQLITE_OK
            && let (Some(path), Some(before)) = (watched_path, before)
        {
            let mut state = state();
            state.next_handle += 1;
            let handle = state.next_handle;
            state.handles.insert(handle, path.clone());
            state.images.entry(path).or_insert(Image {
                durable: before,
                pending: Vec::new(),
                main_db: flags & ffi::SQLITE_OPEN_MAIN_DB != 0,
            });
            (*(file as *mut ShimFile)).handle = handle;
        }
        rc
    }
}

unsafe extern "C" fn x_delete(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const std::ffi::c_char,
    sync_dir: c_int,
) -> c_int {
    let delete = unsafe { (*real()).xDelete.expect("the unix VFS deletes files") };
    let Some(path) = path_of(name) else {
        return unsafe { delete(real(), name, sync_dir) };
    };
    let mut state = state();
    if !state.images.contains_key(&path) {
        drop(state);
        return unsafe { delete(real(), name, sync_dir) };
    }
    if state.dead || counts_as_cut(&mut state) {
        return ffi::SQLITE_IOERR_DELETE;
    }
    let rc = unsafe { delete(real(), name, sync_dir) };
    if rc == ffi::SQLITE_OK {
        state.images.remove(&path);
    }
    rc
}

/// Count one operation on a watched file; true if it is the one the power goes at.
fn counts_as_cut(state: &mut State) -> bool {
    state.ops += 1;
    if state.cut_at == Some(state.ops) {
        state.dead = true;
    }
    state.dead
}

unsafe extern "C" fn x_close(file: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let shim = shim(file);
        if shim.handle != 0 {
            state().handles.remove(&shim.handle);
        }
        let close = methods(shim).xClose.expect("unix files close");
        close(shim.real)
    }
}

unsafe extern "C" fn x_write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    unsafe {
        let shim = shim(file);
        let write = methods(shim).xWrite.expect("unix files write");
        if shim.handle == 0 {
            return write(shim.real, buf, amount, offset);
        }
        let mut state = state();
        if state.dead {
            return ffi::SQLITE_IOERR_WRITE;
        }
        let op = Op::Write {
            offset: offset as u64,
            data: std::slice::from_raw_parts(buf as *const u8, amount as usize).to_vec(),
        };
        let path = state.handles[&shim.handle].clone();
        if counts_as_cut(&mut state) {
            // The write was on its way to the disk when the power went: some of it may land.
            pending(&mut state, &path).push(op);
            return ffi::SQLITE_IOERR_WRITE;
        }
        let rc = write(shim.real, buf, amount, offset);
        if rc == ffi::SQLITE_OK {
            pending(&mut state, &path).push(op);
        }
        rc
    }
}

fn pending<'a>(state: &'a mut State, path: &Path) -> &'a mut Vec<Op> {
    &mut state
        .images
        .entry(path.to_owned())
        .or_insert(Image {
            durable: None,
            pending: Vec::new(),
            main_db: false,
        })
        .pending
}

unsafe extern "C" fn x_truncate(file: *mut ffi::sqlite3_file, size: ffi::sqlite3_int64) -> c_int {
    unsafe {
        let shim = shim(file);
        let truncate = methods(shim).xTruncate.expect("unix files truncate");
        if shim.handle == 0 {
            return truncate(shim.real, size);
        }
        let mut state = state();
        if state.dead || counts_as_cut(&mut state) {
            return ffi::SQLITE_IOERR_TRUNCATE;
        }
        let path = state.handles[&shim.handle].clone();
        let rc = truncate(shim.real, size);
        if rc == ffi::SQLITE_OK {
            pending(&mut state, &path).push(Op::Truncate { size: size as u64 });
        }
        rc
    }
}

unsafe extern "C" fn x_sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    unsafe {
        let shim = shim(file);
        let sync = methods(shim).xSync.expect("unix files sync");
        if shim.handle == 0 {
            return sync(shim.real, flags);
        }
        let mut state = state();
        if state.dead || counts_as_cut(&mut state) {
            return ffi::SQLITE_IOERR_FSYNC;
        }
        let rc = sync(shim.real, flags);
        if rc == ffi::SQLITE_OK && !state.lying {
            let path = state.handles[&shim.handle].clone();
            if let Some(image) = state.images.get_mut(&path) {
                let mut bytes = image.durable.take().unwrap_or_default();
                for op in image.pending.drain(..) {
                    apply(&mut bytes, &op);
                }
                image.durable = Some(bytes);
            }
        }
        rc
    }
}

// Everything else goes to the real file as it is.

unsafe extern "C" fn x_read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    unsafe {
        let shim = shim(file);
        methods(shim).xRead.expect("unix files read")(shim.real, buf, amount, offset)
    }
}

unsafe extern "C" fn x_file_size(
    file: *mut ffi::sqlite3_file,
    size: *mut ffi::sqlite3_int64,
) -> c_int {
    unsafe {
        let shim = shim(file);
        methods(shim).xFileSize.expect("unix files have a size")(shim.real, size)
    }
}

unsafe extern "C" fn x_lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    unsafe {
        let shim = shim(file);
        methods(shim).xLock.expect("unix files lock")(shim.real, level)
    }
}

unsafe extern "C" fn x_unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    unsafe {
        let shim = shim(file);
        methods(shim).xUnlock.expect("unix files unlock")(shim.real, level)
    }
}

unsafe extern "C" fn x_check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    unsafe {
        let shim = shim(file);
        methods(shim)
            .xCheckReservedLock
            .expect("unix files check locks")(shim.real, out)
    }
}

unsafe extern "C" fn x_file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    unsafe {
        let shim = shim(file);
        methods(shim)
            .xFileControl
            .expect("unix files take controls")(shim.real, op, arg)
    }
}

unsafe extern "C" fn x_sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let shim = shim(file);
        methods(shim).xSectorSize.expect("unix files have sectors")(shim.real)
    }
}

unsafe extern "C" fn x_device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let shim = shim(file);
        methods(shim)
            .xDeviceCharacteristics
            .expect("unix files describe their device")(shim.real)
    }
}

unsafe extern "C" fn x_shm_map(
    file: *mut ffi::sqlite3_file,
    page: c_int,
    page_size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    unsafe {
        let shim = shim(file);
        match methods(shim).xShmMap {
            Some(map) => map(shim.real, page, page_size, extend, out),
            None => ffi::SQLITE_IOERR_SHMMAP,
        }
    }
}

unsafe extern "C" fn x_shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    unsafe {
        let shim = shim(file);
        match methods(shim).xShmLock {
            Some(lock) => lock(shim.real, offset, n, flags),
            None => ffi::SQLITE_IOERR_SHMLOCK,
        }
    }
}

unsafe extern "C" fn x_shm_barrier(file: *mut ffi::sqlite3_file) {
    unsafe {
        let shim = shim(file);
        if let Some(barrier) = methods(shim).xShmBarrier {
            barrier(shim.real);
        }
    }
}

unsafe extern "C" fn x_shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    unsafe {
        let shim = shim(file);
        match methods(shim).xShmUnmap {
            Some(unmap) => unmap(shim.real, delete),
            None => ffi::SQLITE_OK,
        }
    }
}

unsafe extern "C" fn x_fetch(
    file: *mut ffi::sqlite3_file,
    offset: ffi::sqlite3_int64,
    amount: c_int,
    out: *mut *mut c_void,
) -> c_int {
    unsafe {
        let shim = shim(file);
        match methods(shim).xFetch {
            Some(fetch) => fetch(shim.real, offset, amount, out),
            None => {
                *out = ptr::null_mut();
                ffi::SQLITE_OK
            }
        }
    }
}

unsafe extern "C" fn x_unfetch(
    file: *mut ffi::sqlite3_file,
    offset: ffi::sqlite3_int64,
    p: *mut c_void,
) -> c_int {
    unsafe {
        let shim = shim(file);
        match methods(shim).xUnfetch {
            Some(unfetch) => unfetch(shim.real, offset, p),
            None => ffi::SQLITE_OK,
        }
    }
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: Some(x_shm_map),
    xShmLock: Some(x_shm_lock),
    xShmBarrier: Some(x_shm_barrier),
    xShmUnmap: Some(x_shm_unmap),
    xFetch: Some(x_fetch),
    xUnfetch: Some(x_unfetch),
};
