"""Memory of the server while a citizen uploads, then downloads, a 50 MB document: it must not grow with the file.

What is measured: the resident memory (RSS) of the server process, a real ``manage.py runserver`` started by this
script (settings ``mes.settings.dev``, the configured PostgreSQL, a temporary media folder), while this script
- uploads a valid 50 MB PDF through the real upload form (``/dossier/documents/ajouter/``: session, CSRF token,
  multipart body streamed from disk by blocks, so the client never holds the file either), and
- downloads it back through the real download route, reading the response by blocks and checking its SHA-256.

The baseline is honest: a 1 MB PDF first goes through the same upload and download (imports, templates, database
connection, caches of the first request), then the peak is reset. The peak comes from two sources, the larger wins:
the kernel's high-water mark (``VmHWM`` of ``/proc/<pid>/status``, reset by writing 5 to ``/proc/<pid>/clear_refs``
where the kernel allows it) and a thread sampling ``VmRSS`` every 2 ms. The figure is peak minus baseline, in MiB.

The script creates its own citizen, signs in through a session, deletes the documents it added through the real
delete route, then deletes the citizen, the account and the session; journal rows stay (the journal is append-only).

Run: DATABASE_URL=postgres://... python bench/dossier_streaming.py [size_mb]
"""

import hashlib
import http.client
import io
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from http.cookies import SimpleCookie
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings.dev")

import django

django.setup()

from django.contrib.sessions.models import Session  # noqa: E402
from django.test import Client  # noqa: E402

from mes.comptes.demo import make_ins  # noqa: E402
from mes.comptes.models import Citizen, CitizenStatus, Role, Sex, User, mss_address_for  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BLOCK = 1 << 20
BOUNDARY = "----mes-bench-" + uuid.uuid4().hex


# --- A valid PDF of any size, written by blocks -----------------------------------------------------------------


def write_pdf(path: Path, total_size: int, *, seed: int = 11) -> None:
    """One page saying « Bonjour », plus an unreferenced stream of random bytes making up the size."""
    rng = random.Random(seed)
    content = b"BT /F1 24 Tf 72 720 Td (Bonjour) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    with path.open("wb") as out:
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
        padding = max(0, total_size - out.tell() - 400)
        offsets.append(out.tell())
        out.write(b"6 0 obj\n<< /Length %d >>\nstream\n" % padding)
        remaining = padding
        while remaining:
            size = min(BLOCK, remaining)
            out.write(rng.randbytes(size))
            remaining -= size
        out.write(b"\nendstream\nendobj\n")
        xref = out.tell()
        out.write(b"xref\n0 7\n0000000000 65535 f \n")
        for offset in offsets:
            out.write(b"%010d 00000 n \n" % offset)
        out.write(b"trailer\n<< /Size 7 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)


# --- The server and its memory ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} absent de /proc/{pid}/status")


def reset_high_water_mark(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


class Sampler(threading.Thread):
    """Reads the server's VmRSS every 2 ms and keeps the largest value."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kib = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak_kib = max(self.peak_kib, status_kib(self.pid, "VmRSS"))
            time.sleep(0.002)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.peak_kib


# --- The citizen's side: HTTP by hand, so that the body streams from disk -----------------------------------------


class Browser:
    def __init__(self, port: int, session_id: str) -> None:
        self.port = port
        self.cookies = {"sessionid": session_id}

    def _connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)

    def _cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def _remember(self, response: http.client.HTTPResponse) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value

    def get(self, path: str) -> tuple[int, dict, bytes]:
        connection = self._connection()
        connection.request("GET", path, headers={"Cookie": self._cookie_header()})
        response = connection.getresponse()
        self._remember(response)
        body = response.read()
        connection.close()
        return response.status, dict(response.getheaders()), body

    def csrf_token(self, path: str) -> str:
        status, _headers, body = self.get(path)
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if status != 200 or match is None:
            raise SystemExit(f"formulaire {path} inaccessible ({status})")
        return match.group(1).decode()

    def upload(self, path: Path, *, title: str) -> str:
        token = self.csrf_token("/dossier/documents/ajouter/")
        fields = {
            "csrfmiddlewaretoken": token,
            "title": title,
            "type_code": "11488-4",
            "act_date": date.today().isoformat(),
        }
        preamble = io.BytesIO()
        for name, value in fields.items():
            preamble.write(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        preamble.write(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: application/pdf\r\n\r\n".encode()
        )
        closing = f"\r\n--{BOUNDARY}--\r\n".encode()
        length = len(preamble.getvalue()) + path.stat().st_size + len(closing)
        connection = self._connection()
        connection.putrequest("POST", "/dossier/documents/ajouter/")
        connection.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
        connection.putheader("Content-Length", str(length))
        connection.putheader("Cookie", self._cookie_header())
        connection.putheader("Referer", f"http://127.0.0.1:{self.port}/dossier/documents/ajouter/")
        connection.endheaders()
        connection.send(preamble.getvalue())
        with path.open("rb") as source:
            while block := source.read(BLOCK):
                connection.send(block)
        connection.send(closing)
        response = connection.getresponse()
        response.read()
        connection.close()
        location = response.getheader("Location") or ""
        match = re.search(r"/dossier/documents/([0-9a-f-]{36})/$", location)
        if response.status != 302 or match is None:
            raise SystemExit(f"ajout refusé : {response.status} {location}")
        return match.group(1)

    def download(self, public_id: str) -> tuple[int, str]:
        connection = self._connection()
        connection.request(
            "GET", f"/dossier/documents/{public_id}/telecharger/", headers={"Cookie": self._cookie_header()}
        )
        response = connection.getresponse()
        if response.status != 200:
            raise SystemExit(f"téléchargement refusé : {response.status}")
        digest, size = hashlib.sha256(), 0
        while block := response.read(BLOCK):
            digest.update(block)
            size += len(block)
        connection.close()
        return size, digest.hexdigest()

    def delete(self, public_id: str) -> None:
        path = f"/dossier/documents/{public_id}/supprimer/"
        token = self.csrf_token(path)
        connection = self._connection()
        connection.request(
            "POST",
            path,
            body=f"csrfmiddlewaretoken={token}",
            headers={
                "Cookie": self._cookie_header(),
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://127.0.0.1:{self.port}{path}",
            },
        )
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status != 302:
            raise SystemExit(f"suppression refusée : {response.status}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def create_citizen() -> Citizen:
    marker = uuid.uuid4().hex[:8]
    user = User.objects.create_user(
        email=f"bench-documents-{marker}@exemple.fr", password=None, role=Role.CITIZEN, first_name="Banc"
    )
    for order in random.sample(range(1, 999), 50):
        ins = make_ins(sex=Sex.FEMALE, birth=date(1971, 3, 9), department="99", commune="350", order=order)
        if not Citizen.objects.filter(ins=ins).exists():
            break
    return Citizen.objects.create(
        user=user,
        ins=ins,
        birth_name="BANC",
        first_names="Essai",
        birth_date=date(1971, 3, 9),
        sex=Sex.FEMALE,
        birthplace_code="99350",
        status=CitizenStatus.ACTIVATED,
        mss_address=mss_address_for(ins),
    )


def main() -> int:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    work = Path(tempfile.mkdtemp(prefix="mes-bench-documents-"))
    media, uploads = work / "media", work / "uploads"
    media.mkdir()
    uploads.mkdir()
    small, big = work / "petit.pdf", work / "grand.pdf"
    write_pdf(small, 1024**2)
    write_pdf(big, size_mb * 1024**2)
    big_sha, big_size = sha256_of(big), big.stat().st_size

    citizen = create_citizen()
    client = Client()
    client.force_login(citizen.user)
    session_id = client.cookies["sessionid"].value

    port = free_port()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mes.settings.dev",
        "MEDIA_ROOT": str(media),
        "FILE_UPLOAD_TEMP_DIR": str(uploads),
        "DOSSIER_DOCUMENT_MAX_BYTES": str((size_mb + 10) * 1024**2),
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(  # noqa: S603 - this interpreter and this project's manage.py, no outside input
        [sys.executable, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=(work / "serveur.log").open("wb"),
    )
    try:
        browser = Browser(port, session_id)
        for _attempt in range(600):
            try:
                if browser.get("/healthz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit("le serveur n’a pas démarré :\n" + (work / "serveur.log").read_text(errors="replace"))

        # Warm-up: the same path with a small file, so that imports and first-request caches are not counted.
        warm_id = browser.upload(small, title="Échauffement")
        browser.download(warm_id)
        browser.delete(warm_id)
        time.sleep(0.5)

        baseline_kib = status_kib(server.pid, "VmRSS")
        kernel_peak = reset_high_water_mark(server.pid)
        sampler = Sampler(server.pid)
        sampler.start()
        started = time.perf_counter()
        public_id = browser.upload(big, title="Grand document")
        uploaded = time.perf_counter()
        upload_peak_kib = sampler.peak_kib
        size, sha = browser.download(public_id)
        finished = time.perf_counter()
        sampled_peak_kib = sampler.stop()
        hwm_kib = status_kib(server.pid, "VmHWM") if kernel_peak else 0
        if (size, sha) != (big_size, big_sha):
            raise SystemExit("le fichier téléchargé diffère du fichier envoyé")
        browser.delete(public_id)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        Session.objects.filter(session_key=session_id).delete()
        user = citizen.user
        citizen.documents.all().delete()
        citizen.delete()
        user.delete()
        shutil.rmtree(work, ignore_errors=True)

    peak_kib = max(sampled_peak_kib, hwm_kib)
    increase_mb = max(0, peak_kib - baseline_kib) / 1024
    file_mb = big_size / 1024**2
    print(f"file: {file_mb:.1f} MiB PDF, SHA-256 checked after the round trip")
    print(f"upload:   {uploaded - started:6.2f} s ({file_mb / (uploaded - started):6.1f} MiB/s)")
    print(f"download: {finished - uploaded:6.2f} s ({file_mb / (finished - uploaded):6.1f} MiB/s)")
    print(f"server RSS after warm-up:       {baseline_kib / 1024:7.1f} MiB")
    print(f"server RSS peak during upload:  {upload_peak_kib / 1024:7.1f} MiB (sampled every 2 ms)")
    print(f"server RSS peak, whole transfer: {sampled_peak_kib / 1024:7.1f} MiB (sampled)")
    if kernel_peak:
        print(f"server VmHWM since reset:       {hwm_kib / 1024:7.1f} MiB (kernel high-water mark)")
    else:
        print("server VmHWM: reset refused by the kernel, sampled peak only")
    print(f"GOAL upload_download_{size_mb}mb_rss_increase_mb {increase_mb:.1f} target <= 10")
    return 0


if __name__ == "__main__":
    sys.exit(main())
