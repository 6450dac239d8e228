import Foundation

/// Debian's OpenBLAS 0.3.21 does not recognise CPUs newer than it knows (recent Xeons among
/// them) and falls back to its generic Prescott (SSE3) kernels there, about 5x slower than its
/// AVX-512 or AVX2 ones on the same CPU. OpenBLAS chooses its kernels once, when it is loaded,
/// from `OPENBLAS_CORETYPE` if set; so a process that finds the fallback can only fix it by
/// starting again with that variable set (`restartWithTunedCoreIfNeeded()`). Training and
/// tagging run no OpenBLAS kernel (their products are Trellis's own, `packedProduct`), so only
/// `trellis bench` does that, for its sgemm reference; a program that uses OpenBLAS for its own
/// work can set `OPENBLAS_CORETYPE` before it starts.
package enum BLASCore {
  /// The environment variable OpenBLAS reads its core type from.
  static let coreTypeVariable = "OPENBLAS_CORETYPE"

  /// The core OpenBLAS should use instead of the one it `detected`, or nil when its choice
  /// stands: the user chose one (`OPENBLAS_CORETYPE` set), OpenBLAS did not fall back, or the
  /// CPU has no AVX2 (`cpuFlags`: the flags of /proc/cpuinfo, read only after the checks
  /// before it pass, since reading that file was a millisecond of every start).
  package static func preferred(
    detected: String, environment: [String: String], cpuFlags: @autoclosure () -> Set<String>
  ) -> String? {
    guard environment[coreTypeVariable] == nil, detected == "Prescott" else { return nil }
    let cpuFlags = cpuFlags()
    if cpuFlags.isSuperset(of: ["avx512f", "avx512dq", "avx512bw", "avx512vl"]) {
      return "SkylakeX"
    }
    if cpuFlags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
    return nil
  }

  /// The flags of the first processor in /proc/cpuinfo (empty where it cannot be read).
  package static func cpuFlags() -> Set<String> {
    guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return [] }
    return Set(line.split(separator: " ").dropFirst(2).map(String.init))
  }

  /// Re-executes this process with `OPENBLAS_CORETYPE` set when OpenBLAS fell back to its
  /// generic kernels on a CPU that has faster ones (`preferred`); returns when there is nothing
  /// to do or the re-execution fails (the process then runs on as it is). Call first thing in
  /// `main`, before reading input: the new process starts from the same arguments and file
  /// descriptors.
  package static func restartWithTunedCoreIfNeeded() {
    guard
      let core = preferred(
        detected: blasCoreName(), environment: ProcessInfo.processInfo.environment,
        cpuFlags: cpuFlags())
    else { return }
    setenv(coreTypeVariable, core, 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
  }
}
