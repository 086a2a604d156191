"""Where a run's output goes: a local folder, or S3-compatible storage through a local
working folder.

In: the output location a run was given (``--out``, ``FORENSICS_OUT_DIR`` or a DAG's
``out``): a folder, or ``s3://bucket/prefix``. Out, for a folder: nothing new, the tasks
write it in place under its ``flock``. For a bucket: a **working folder** on the machine
that runs the task (``FORENSICS_WORK_DIR``, default ``~/.cache/distill-forensics``, then
``<bucket>-<hash of the URL>/out``) that every stage writes exactly as it writes a local
output folder; a task that holds the output (``held``) first takes the bucket's lock,
**pulls** what the bucket holds that its working folder lacks, and at its end **pushes**
what it changed: day partitions, findings, reports, validation pages, the
``forensics.duckdb`` snapshot, then ``manifest.json`` last. A day task, which holds
nothing, pulls its day's requests and pushes its own files (``pull_files``,
``push_files``), so a window task on another machine reads partitions it never wrote.

Atomic per object: each file is one PUT (a large one a multipart upload, which S3 makes
visible only when complete), so a reader sees an object's old bytes or its new ones,
never half; the set is not atomic, which is why the manifest, which names the
publication, goes last. Links have no objects: ``publications/latest``, ``findings`` and
``reports`` are uploaded as copies of what they point to (the output contract's paths
must be readable objects) and restored as links from the manifest when pulled.

The lock across machines is an object, ``<prefix>/.forensics.lock``, created by a
conditional PUT (``If-None-Match: *``: S3 lets exactly one of two writers create it). It
holds its holder (pid, host, run id, command, start) and a lease: the holder renews it
every minute (``If-Match`` on its own ETag) and a run that finds it past its expiry,
five minutes, takes it over by the same kind of conditional PUT, so a killed run's lock
lapses. A second run is refused with the local lock's words
(``warehouse.locked_message``).

Why this way: every writer of the pipeline writes local files by atomic rename and DuckDB
reads local partitions; one module that maps a location to a working folder and a
publish step leaves every writer as it is. Endpoint and credentials are the AWS SDK's
own environment variables (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...), read by
boto3; nothing here reaches the network unless the output is an ``s3://`` URL.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.errors import ForensicsError, OutputLocked
from pipeline.publish.manifest import MANIFEST_NAME, SIGNATURE_SUFFIX
from pipeline.warehouse import DB_NAME, LOCK_NAME, locked_message, output_lock

log = logging.getLogger(__name__)

SCHEME = "s3://"
ENV_WORK_DIR = "FORENSICS_WORK_DIR"
LEASE = timedelta(minutes=5)
RENEW_SECONDS = 60.0
LAST = (MANIFEST_NAME, f"manifest{SIGNATURE_SUFFIX}")
"""Pushed after everything else: the manifest names the publication the rest makes up."""
NOT_PUSHED = {LOCK_NAME, f"{DB_NAME}.wal"}
TRANSFER_THREADS = 8
"""Objects moved at once (the SDK's clients are thread-safe; S3 serves requests in parallel)."""


def is_remote(out: str | Path) -> bool:
    """Whether an output location is object storage (``s3://bucket/prefix``)."""
    return str(out).startswith(SCHEME)


def locate(out: str | Path) -> tuple[Path, str | None]:
    """The folder the stages write for ``out`` and the bucket URL it is published to (None
    for a local folder, which is written in place)."""
    if not is_remote(out):
        return Path(out), None
    url = str(out).rstrip("/")
    bucket, _ = _split(url)
    root = Path(os.environ.get(ENV_WORK_DIR) or
                Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                / "distill-forensics")
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return root.expanduser().absolute() / f"{bucket}-{digest}" / "out", url


@contextmanager
def held(out: Path, remote: str | None, holder: dict[str, str]) -> Iterator[None]:
    """Hold the output for one task: a local folder's ``flock``; for a bucket, its lock
    object, then the working folder pulled, the task, and what it changed pushed (after a
    failure too, so that the bucket's ledger says how the run ended)."""
    if remote is None:
        with output_lock(out, holder):
            yield
        return
    bucket = Bucket(remote)
    with bucket.lease(holder) as lease:
        state = _State(out)
        bucket.pull(out, state)
        with output_lock(out, holder):
            try:
                yield
            except BaseException:
                try:
                    bucket.push(out, state, lease=lease)
                except ForensicsError as err:
                    log.warning("the failed run's files were not pushed: %s", err)
                raise
            bucket.push(out, state, lease=lease)


def pull_files(out: Path, remote: str, names: Iterable[str]) -> None:
    """Bring the named files (paths under the output) from the bucket into the working
    folder, for a task that holds no lock (a day task's requests partition)."""
    Bucket(remote).pull(out, _State(out), only=set(names))


def push_files(out: Path, remote: str, paths: Iterable[Path]) -> None:
    """Upload files a lock-free task wrote (a day's partitions) to the bucket."""
    Bucket(remote).push(out, _State(out), only=list(paths))


def delete_files(out: Path, remote: str, names: Iterable[str]) -> None:
    """Delete objects a lock-free task no longer needs (a merged day's shards)."""
    state = _State(out)
    Bucket(remote).delete(sorted(names), state)
    state.save()


class Bucket:
    """An ``s3://bucket/prefix`` output: its objects, its lock, and the sync of a working
    folder with them. Errors of the endpoint, the credentials or the bucket are one line
    (``ForensicsError``) naming the URL."""

    def __init__(self, url: str) -> None:
        import boto3  # the SDK: only a bucket output needs it
        from botocore.config import Config  # the SDK: only a bucket output needs it

        self.url = url.rstrip("/")
        self.name, self.prefix = _split(self.url)
        self.client = boto3.session.Session().client("s3", config=Config(
            connect_timeout=10, read_timeout=120,
            retries={"max_attempts": 4, "mode": "standard"}))
        with self.errors():
            self.client.head_bucket(Bucket=self.name)

    def key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    @contextmanager
    def errors(self) -> Iterator[None]:
        """The SDK's errors as one line naming the URL: an unreachable endpoint, missing
        credentials, a bucket that does not exist or refuses us."""
        from botocore.exceptions import (  # the SDK: only a bucket output needs it
            BotoCoreError,
            ClientError,
        )

        try:
            yield
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchBucket"):
                raise ForensicsError(f"{self.url}: no bucket named {self.name} at "
                                     f"{self.client.meta.endpoint_url}") from None
            if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise ForensicsError(f"{self.url}: access denied ({code}); check "
                                     "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") from None
            raise ForensicsError(f"{self.url}: {code or 'error'}: {err}") from None
        except BotoCoreError as err:
            raise ForensicsError(f"{self.url}: {err} (endpoint "
                                 f"{self.client.meta.endpoint_url}; set AWS_ENDPOINT_URL "
                                 "for S3-compatible storage)") from None

    def listing(self) -> dict[str, str]:
        """Every object under the prefix: its path under the output, and its ETag."""
        found = {}
        start = f"{self.prefix}/" if self.prefix else ""
        with self.errors():
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.name, Prefix=start)
            for page in pages:
                for item in page.get("Contents", []):
                    found[item["Key"][len(start):]] = item["ETag"]
        return found

    @contextmanager
    def lease(self, holder: dict[str, str]) -> Iterator[_Lease]:
        lease = _Lease(self, holder)
        lease.acquire()
        try:
            yield lease
        finally:
            lease.release()

    def pull(self, out: Path, state: _State, only: set[str] | None = None) -> None:
        """Download what the bucket holds and the working folder lacks (or holds another
        version of); restore the links the bucket's manifest names. A whole pull (no
        ``only``) also removes local files the bucket no longer has, so that a file
        another machine's run removed is not pushed back."""
        remote = self.listing()
        wanted = [rel for rel in remote if (only is None or rel in only) and rel != LOCK_NAME]
        if MANIFEST_NAME in wanted:
            self._download(out, state, MANIFEST_NAME, remote[MANIFEST_NAME])
        links = _manifest_links(out) if only is None else {}
        copies = [rel for rel in wanted if _under(rel, links)]
        for rel in copies:
            state.entries[rel] = {"etag": remote[rel]}
        files = sorted(set(wanted) - set(copies))
        with ThreadPoolExecutor(TRANSFER_THREADS) as pool:
            list(pool.map(lambda rel: self._download(out, state, rel, remote[rel]), files))
        if only is None:
            for rel in set(state.entries) - set(remote):
                path = out / rel
                if state.same(rel, path) and not path.is_symlink():
                    path.unlink()
                del state.entries[rel]
            _restore_links(out, links)
        state.save()

    def _download(self, out: Path, state: _State, rel: str, etag: str) -> None:
        path = out / rel
        if state.entries.get(rel, {}).get("etag") == etag and state.same(rel, path):
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with self.errors():
                self.client.download_file(self.name, self.key(rel), str(tmp))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        state.record(rel, path, etag)

    def push(self, out: Path, state: _State, *, lease: _Lease | None = None,
             only: list[Path] | None = None) -> None:
        """Upload what changed in the working folder since it was last synced, the
        manifest last; a whole push (no ``only``) also deletes the objects of files the
        run removed (pruned validation pages, a link copy ``latest`` no longer holds)."""
        files = ({p.relative_to(out).as_posix(): p for p in only} if only is not None
                 else pushed_files(out))
        changed = sorted(rel for rel, path in files.items() if not state.same(rel, path))
        if lease is not None:
            lease.check()
        first = [rel for rel in changed if rel not in LAST]
        with self.errors(), ThreadPoolExecutor(TRANSFER_THREADS) as pool:
            etags = dict(zip(first, pool.map(lambda rel: self._upload(files[rel], rel), first),
                             strict=True))
        gone = sorted(set(state.entries) - set(files)) if only is None else []
        self.delete(gone, state)
        for rel in (rel for rel in LAST if rel in changed):
            with self.errors():
                etags[rel] = self._upload(files[rel], rel)
        for rel, etag in etags.items():
            state.record(rel, files[rel], etag)
        state.save()

    def delete(self, rels: list[str], state: _State) -> None:
        """Delete the objects of these paths under the output (1,000 to a request, the
        most S3 takes) and forget them in the working folder's sync state."""
        for at in range(0, len(rels), 1000):
            with self.errors():
                self.client.delete_objects(Bucket=self.name, Delete={
                    "Objects": [{"Key": self.key(rel)} for rel in rels[at:at + 1000]],
                    "Quiet": True})
        for rel in rels:
            state.entries.pop(rel, None)

    def _upload(self, path: Path, rel: str) -> str:
        """One file as one object (a multipart upload past 8 MiB, visible only when
        whole); its ETag, which the next pull compares."""
        self.client.upload_file(str(path), self.name, self.key(rel))
        return self.client.head_object(Bucket=self.name, Key=self.key(rel))["ETag"]


class _Lease:
    """The bucket's lock object, held while a task holds the output (see the module's
    docstring)."""

    def __init__(self, bucket: Bucket, holder: dict[str, str]) -> None:
        self.bucket = bucket
        self.key = bucket.key(LOCK_NAME)
        self.holder = {"pid": str(os.getpid()), "host": socket.gethostname(), **holder}
        self.etag: str | None = None
        self.lost = False
        self.stop = threading.Event()
        self.renewer = threading.Thread(target=self._renew, daemon=True)

    def _body(self) -> bytes:
        expires = datetime.now(UTC) + LEASE
        return json.dumps({**self.holder, "lease_until": expires.isoformat()}).encode()

    def _put(self, **condition: str) -> str | None:
        """A conditional PUT of the lock; its ETag, or None when the condition failed."""
        from botocore.exceptions import ClientError  # the SDK: only a bucket output needs it

        with self.bucket.errors():
            try:
                return self.bucket.client.put_object(
                    Bucket=self.bucket.name, Key=self.key, Body=self._body(),
                    ContentType="application/json", **condition)["ETag"]
            except ClientError as err:
                status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if status in (409, 412):  # 409: a concurrent conditional write won
                    return None
                raise

    def acquire(self) -> None:
        """Take the lock, or take over one whose lease lapsed; else refuse, naming the
        holder."""
        self.etag = self._put(IfNoneMatch="*")
        if self.etag is None:
            with self.bucket.errors():
                current = self.bucket.client.get_object(Bucket=self.bucket.name, Key=self.key)
            text = current["Body"].read().decode("utf-8", "replace")
            if lease_lapsed(text):
                log.warning("%s: taking over a lapsed lock (%s)", self.bucket.url, text)
                self.etag = self._put(IfMatch=current["ETag"])
            if self.etag is None:
                raise OutputLocked(locked_message(self.bucket.url, text))
        self.renewer.start()

    def _renew(self) -> None:
        while not self.stop.wait(RENEW_SECONDS):
            try:
                etag = self._put(IfMatch=self.etag or "")
            except ForensicsError as err:
                log.warning("%s: the lock's lease was not renewed: %s", self.bucket.url, err)
                continue
            if etag is None:
                self.lost = True
                return
            self.etag = etag

    def check(self) -> None:
        """Refuse to publish after the lease went to another run."""
        if self.lost:
            raise OutputLocked(f"{self.bucket.url}: this run's lock lapsed and another run "
                               "took it over; nothing more was published from this run")

    def release(self) -> None:
        from botocore.exceptions import ClientError  # the SDK: only a bucket output needs it

        self.stop.set()
        if self.renewer.is_alive():
            self.renewer.join()
        if self.etag is None or self.lost:
            return
        try:
            self.bucket.client.delete_object(Bucket=self.bucket.name, Key=self.key,
                                             IfMatch=self.etag)
        except ClientError as err:
            log.warning("%s: the lock was not removed: %s", self.bucket.url, err)


class _State:
    """What the working folder held when it was last synced with the bucket: per path,
    the object's ETag and the local file's size and modification time. It lives beside the
    working folder (never in it: the manifest covers the folder)."""

    def __init__(self, out: Path) -> None:
        self.path = out.parent / "sync.json"
        self.entries: dict[str, dict[str, Any]] = (
            json.loads(self.path.read_text()) if self.path.is_file() else {})

    def same(self, rel: str, path: Path) -> bool:
        """Whether ``path`` is still the file last synced as ``rel``."""
        entry = self.entries.get(rel)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return False
        return entry is not None and entry.get("size") == stat.st_size and \
            entry.get("mtime_ns") == stat.st_mtime_ns

    def record(self, rel: str, path: Path, etag: str) -> None:
        stat = path.stat()
        self.entries[rel] = {"etag": etag, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.entries, sort_keys=True))
        os.replace(tmp, self.path)


def _split(url: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` as (``bucket``, ``a/b``)."""
    bucket, _, prefix = url[len(SCHEME):].partition("/")
    if not bucket:
        raise ForensicsError(f"{url}: an S3 output needs a bucket (s3://bucket/prefix)")
    return bucket, prefix.strip("/")


def pushed_files(out: Path) -> dict[str, Path]:
    """Every file of the working folder a push covers, by its path under the output; a
    link's files under the link's path (a copy of what it points to). Not the local lock,
    DuckDB's write-ahead log or a temporary file (``.NAME.PID.tmp``)."""
    files: dict[str, Path] = {}
    for folder, dirs, names in os.walk(out):
        here = Path(folder)
        for name in (*names, *dirs):
            path = here / name
            rel = path.relative_to(out).as_posix()
            if name in NOT_PUSHED or (name.startswith(".") and name.endswith(".tmp")):
                if name in dirs:
                    dirs.remove(name)
                continue
            if path.is_symlink():
                target = path.resolve()
                if target.is_dir():
                    files.update({f"{rel}/{p.relative_to(target).as_posix()}": p
                                  for p in sorted(target.rglob("*")) if p.is_file()})
                elif target.is_file():
                    files[rel] = target
            elif name in names:
                files[rel] = path
    return files


def _manifest_links(out: Path) -> dict[str, str]:
    path = out / MANIFEST_NAME
    return json.loads(path.read_text()).get("links", {}) if path.is_file() else {}


def _under(rel: str, links: dict[str, str]) -> bool:
    return any(rel == link or rel.startswith(f"{link}/") for link in links)


def _restore_links(out: Path, links: dict[str, str]) -> None:
    """Make the working folder's links those the bucket's manifest names."""
    for link, target in sorted(links.items()):
        path = out / link
        if path.is_symlink() and os.readlink(path) == target:
            continue
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)


def lease_lapsed(text: str) -> bool:
    """Whether a lock's lease is past (an unreadable lock is never taken over)."""
    try:
        until = datetime.fromisoformat(json.loads(text)["lease_until"])
    except (ValueError, KeyError, TypeError):
        return False
    return until < datetime.now(UTC)
