"""Who may read the data folder: the account that runs the pipeline, and nobody else.

The archive holds what the centres sent, personal data included; quarantine reports and the
working files describe it; the published warehouse holds pseudonyms and exact small counts.
On a shared server, other accounts must not read any of it. So everything the pipeline
creates in the data folder is readable by its owner only: folders 0700, files 0600.

`SOS_SHARE_GROUP=<group>` gives one group read access to what is published for readers,
and to nothing else: `warehouse.duckdb` (0640), the `parquet/` and `reports/` trees (folders
0750, files 0640) and the data folder itself (0750, so the group can reach those), all with
that group. `archive/`, `quarantine/`, `.work/` and `inbox/` stay 0700 whatever it says.

How: every entry point (the CLI, `Paths.ensure()`, which the Dagster resource calls before an
asset touches the data folder) sets the process umask to 077, so whatever writes there
(DuckDB, openpyxl, matplotlib, shutil, Dagster) creates 0600 files and 0700 folders.
`Paths.ensure()` also tightens the data folder's top-level folders made by an older version.
Then the few things readers get are given the share group's modes explicitly: the published
copy before it is renamed over `warehouse.duckdb` (never a moment with the wrong mode), the
Parquet set before it is swapped in, each report file before it is renamed into place, and the
whole `reports/` tree after every extracts run (so turning SOS_SHARE_GROUP on or off takes
effect on extracts left unchanged).

Light imports only: imported when Dagster loads the code location.
"""
from __future__ import annotations

import grp
import os
import stat
from functools import lru_cache
from pathlib import Path

from sos_pipeline.config import ConfigError

ENV = "SOS_SHARE_GROUP"
UMASK = 0o077
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
SHARED_DIR, SHARED_FILE = 0o750, 0o640


def owner_only() -> None:
    """New files and folders of this process: 0600 and 0700."""
    os.umask(UMASK)


def share_group() -> int | None:
    """The gid of SOS_SHARE_GROUP, None when unset. An unknown group, or one this account
    cannot give files to, is a ConfigError."""
    name = os.environ.get(ENV, "").strip()
    return _gid(name) if name else None


@lru_cache(maxsize=8)
def _gid(name: str) -> int:
    try:
        group = grp.getgrnam(name)
    except KeyError:
        raise ConfigError(
            f"{ENV}={name!r}: there is no group of that name on this machine. Create it and add "
            f"the analysts to it (e.g. `sudo groupadd {name}`, `sudo usermod -aG {name} <analyst>`), "
            f"or unset {ENV} to keep the published warehouse and the reports readable by this "
            f"account only. See the coordinator's guide, \"Who can read the data folder\"."
        ) from None
    gid = group.gr_gid
    if os.geteuid() != 0 and gid != os.getegid() and gid not in os.getgroups():
        raise ConfigError(
            f"{ENV}={name!r}: this account is not a member of group {name!r}, so it cannot give it "
            f"the published warehouse. Add it (`sudo usermod -aG {name} $USER`) and log in again, "
            f"or unset {ENV}.")
    return gid


def check() -> int | None:
    """What every entry point does before it writes in the data folder: owner-only umask, and
    SOS_SHARE_GROUP checked (ConfigError before anything is written). Returns its gid."""
    owner_only()
    return share_group()


def _apply(path: Path | str, mode: int, gid: int | None) -> None:
    """Give `path` this mode (and group, when not None); links are left alone, never followed."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return
    if gid is not None and st.st_gid != gid:
        os.chown(path, -1, gid, follow_symlinks=False)
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)


def _raise(exc: OSError) -> None:
    raise exc       # os.walk skips what it cannot list unless told otherwise


def _file_mode(st_mode: int, shared: bool) -> int:
    mode = SHARED_FILE if shared else PRIVATE_FILE
    if not st_mode & stat.S_IWUSR:      # a final extract's files stay read-only
        mode &= ~0o222
    return mode


def secure_data_folder(paths) -> None:
    """The data folder's top-level folders, whichever version made them: 0700, except the data
    folder itself, reports/ and parquet/, which are 0750 with the share group when SOS_SHARE_GROUP
    is set. Files inside an older folder keep their modes, but nobody else can reach them any more."""
    gid = share_group()
    shared = gid is not None
    try:
        for folder in (paths.archive, paths.quarantine, paths.work, paths.inbox):
            if folder.is_dir():
                _apply(folder, PRIVATE_DIR, None)
        for folder in (paths.reports, paths.parquet):
            if folder.is_dir():
                _apply(folder, SHARED_DIR if shared else PRIVATE_DIR, gid)
        _apply(paths.data, SHARED_DIR if shared else PRIVATE_DIR, gid)
    except OSError as exc:
        raise ConfigError(
            f"Cannot make the data folder readable by its owner only ({exc}). The pipeline must run "
            f"as the account that owns {paths.data}, on a file system with Unix permissions."
        ) from exc


def for_readers(path: Path | str) -> None:
    """A file readers get (the published copy before its rename, a report file before its
    rename): 0640 with the share group when SOS_SHARE_GROUP is set, else 0600."""
    gid = share_group()
    st = os.lstat(path)
    _apply(path, _file_mode(st.st_mode, gid is not None), gid)


def secure_reports(reports: Path) -> None:
    """The whole reports/ tree: folders 0750 and files 0640 with the share group when
    SOS_SHARE_GROUP is set, else 0700 and 0600 (final extracts' files stay read-only)."""
    for_readers_tree(reports)


def for_readers_tree(folder: Path | str) -> None:
    """A folder readers get and everything in it (reports/; the Parquet set before its rename):
    folders 0750 and files 0640 with the share group when SOS_SHARE_GROUP is set, else 0700 and
    0600 (read-only files stay read-only); links are not touched."""
    gid = share_group()
    shared = gid is not None
    if not Path(folder).is_dir():
        return
    for root, _dirs, files in os.walk(folder, onerror=_raise):
        _apply(root, SHARED_DIR if shared else PRIVATE_DIR, gid)
        for name in files:
            p = os.path.join(root, name)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                _apply(p, _file_mode(st.st_mode, shared), gid)


def private_tree(path: Path | str) -> None:
    """A copy that stays the owner's whatever its source's modes were (the archive): folders
    0700, files 0600; links are not touched."""
    st = os.lstat(path)
    if stat.S_ISREG(st.st_mode):
        _apply(path, PRIVATE_FILE, None)
        return
    if not stat.S_ISDIR(st.st_mode):
        return
    for root, _dirs, files in os.walk(path, onerror=_raise):
        _apply(root, PRIVATE_DIR, None)
        for name in files:
            p = os.path.join(root, name)
            if stat.S_ISREG(os.lstat(p).st_mode):
                _apply(p, PRIVATE_FILE, None)
