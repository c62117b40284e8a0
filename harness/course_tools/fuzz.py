"""./course fuzz: the libFuzzer targets (common/fuzz/, lessons/*/fuzz/), clang + ASan/UBSan."""

from __future__ import annotations

import subprocess

from .build import configured, run_checked
from .console import say
from .project import ROOT
from .setup import setup


def fuzz(seconds: int) -> int:
    """Builds every libFuzzer target with clang + ASan/UBSan and runs each for
    `seconds`, starting from its committed seed corpus. -malloc_limit_mb makes
    any single huge allocation (a peer-chosen length trusted) a failure."""
    setup(["build", "ci"], quiet=True)
    build_dir = ROOT / "build-fuzz"
    if not configured(build_dir):
        run_checked(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-G", "Ninja",
                     "-DCMAKE_CXX_COMPILER=clang++", "-DCOURSE_FUZZ=ON",
                     "-DCOURSE_SANITIZE=address,undefined", "-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
                    quiet=True)
    # common/fuzz/ and lessons/NN-*/fuzz/; each seed corpus is beside its target.
    sources = {p.stem: p for p in ROOT.glob("**/fuzz/fuzz_*.cpp")
               if "build" not in p.parts[len(ROOT.parts)]}
    targets = sorted(sources)
    run_checked(["cmake", "--build", str(build_dir), "--target", *targets], quiet=True)
    failed = []
    for target in targets:
        corpus = sources[target].parent / "corpus" / target
        work = build_dir / "corpus" / target
        work.mkdir(parents=True, exist_ok=True)
        say(f"fuzzing {target} for {seconds} s")
        done = subprocess.run([str(build_dir / "fuzz" / target), str(work), str(corpus),
                               f"-max_total_time={seconds}", "-rss_limit_mb=512",
                               "-malloc_limit_mb=64", "-print_final_stats=1"],
                              capture_output=True, text=True)
        stats = [line for line in done.stderr.splitlines()
                 if line.startswith(("stat::number_of_executed_units", "Done "))]
        print("  " + ("; ".join(stats) or done.stderr[-2000:]))
        if done.returncode != 0:
            print(done.stderr[-4000:])
            failed.append(target)
    print(f"fuzz: {len(targets) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0
