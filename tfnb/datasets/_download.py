"""Cache directory and verified downloads shared by the data set modules."""
import hashlib
import os
import urllib.error
import urllib.request

from .mnist import DatasetUnavailableError, data_dir  # noqa: F401 - one error type for all sets


def file_digest(path, algorithm="md5"):
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download(url, directory, filename, offline_hint, md5=None, size=None, timeout=30):
    """Downloads ``url`` to ``directory/filename`` and checks its MD5 and/or byte size.

    The file is written to ``.part`` first and only renamed once verified, so a failed or
    corrupt download never leaves a file that looks complete.

    Raises:
        DatasetUnavailableError: no network, or the download does not match; the message
            says what to place where (``offline_hint``).
    """
    os.makedirs(directory, exist_ok=True)
    final = os.path.join(directory, filename)
    tmp = final + ".part"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as f:
            for chunk in iter(lambda: r.read(1 << 20), b""):
                f.write(chunk)
        if size is not None and os.path.getsize(tmp) != size:
            raise ValueError("size %d bytes, expected %d" % (os.path.getsize(tmp), size))
        if md5 is not None and file_digest(tmp) != md5:
            raise ValueError("MD5 %s, expected %s" % (file_digest(tmp), md5))
        os.replace(tmp, final)
        return final
    except (urllib.error.URLError, OSError, ValueError) as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise DatasetUnavailableError("%s could not be downloaded from %s (%s).\n%s"
                                      % (filename, url, e, offline_hint)) from None
