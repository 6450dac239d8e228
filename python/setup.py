"""The wheel holds libTrellisC.so, a library of one platform: it is tagged for that platform
(py3-none-linux_x86_64 on this machine; ctypes needs no Python ABI), where it was tagged for
any (py3-none-any) and pip on another platform would install a package that cannot load.
Building without the library, which `make python` copies in first, is refused."""

from pathlib import Path

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel

LIBRARY = Path(__file__).parent / "trellis" / "libTrellisC.so"


class PlatformWheel(bdist_wheel):
    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> tuple:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


if not LIBRARY.exists():
    raise SystemExit(
        f"{LIBRARY}: no such file; build the library and copy it in with `make python` at the "
        "Trellis repository root")

setup(cmdclass={"bdist_wheel": PlatformWheel})
