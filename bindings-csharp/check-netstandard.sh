#!/usr/bin/env bash
# The package targets netstandard2.0 (IotSec.csproj), but here it is only compiled with Mono's
# mcs, whose class library is wider: code using an API that netstandard2.0 lacks would build
# and pass the tests here, then fail for dotnet users. This check fails when the library
# sources use any of those names. Usage: check-netstandard.sh [SOURCE_DIR]
set -euo pipefail
DIR="${1:-$(cd "$(dirname "$0")" && pwd)/src}"

# extended regex | what it catches (netstandard2.0 lacks all of these)
PATTERNS=(
  '\b(ReadOnly)?Span<|\bReadOnlySpan\b|\bSpan\b'       # Span types
  '\b(ReadOnly)?Memory<'                               # Memory<T>
  '\bMemoryMarshal\b'                                  # MemoryMarshal
  '\bValueTask\b'                                      # ValueTask
  '\bPtrToStringUTF8\b|\bStringToCoTaskMemUTF8\b'      # UTF-8 marshalling helpers
  '\bLPUTF8Str\b'                                      # UnmanagedType.LPUTF8Str
  '\b[Ss]tring\.Create\b'                              # string.Create
  '\bNativeLibrary\b'                                  # NativeLibrary (netcoreapp3.0+)
  '\bLibraryImport\b'                                  # source-generated P/Invoke (net7+)
  '\bUnmanagedCallersOnly\b|\bSuppressGCTransition\b'  # function pointer attributes (net5+)
  'delegate\s*\*\s*unmanaged'                          # function pointers (C# 9)
  '\bGetLastPInvokeError\b|\bGetLastSystemError\b'     # net6+
  '\bIAsyncEnumerable\b|\bIAsyncDisposable\b|await\s+using|await\s+foreach'  # async streams (netstandard2.1)
  '\bnew\s+TaskCompletionSource\s*\('                  # non-generic TaskCompletionSource (net5+)
  '\bWaitAsync\s*\(|\bCancelAsync\s*\('                # net6+/net8+
  'ThrowIfNull\b|ThrowIfNullOrEmpty\b'                 # ArgumentNullException.ThrowIfNull (net6+)
  '\bEnvironment\.ProcessId\b'                         # net5+
  '\bHashCode\.Combine\b|\bMath\.Clamp\b|\bMathF\b'    # netstandard2.1
  '\bTryAdd\s*\(|\bGetValueOrDefault\s*\(|\bToHashSet\s*\(|\bSkipLast\s*\(|\bTakeLast\s*\(|\bDeconstruct\b'  # netstandard2.1 collections
  '\.(StartsWith|EndsWith|Contains)\(\s*'"'"'(.|\\.)'"'"'\s*\)'  # string.StartsWith/EndsWith/Contains(char) (netstandard2.1); pass a string
  '\.IndexOf\(\s*'"'"'(.|\\.)'"'"'\s*,\s*StringComparison'  # IndexOf(char, StringComparison) (netstandard2.1)
  '\.Split\(\s*"'                                      # Split(string) (netstandard2.1)
  '\bstring\.Join\(\s*'"'"                             # string.Join(char, ...) (netstandard2.1)
  '\bConvert\.(To|From)HexString\b'                    # net5+
  '\bRuntimeFeature\b|\bRuntimeHelpers\.IsReferenceOrContainsReferences\b'  # netstandard2.1
  '\bGC\.AllocateUninitializedArray\b|\bArray\.Fill\b' # net5+ / netstandard2.1
  '\bRandom\.Shared\b|\bThread\.GetCurrentProcessorId\b'  # net6+
)

# The sources without their // comments (which may name these APIs), as FILE:LINE:TEXT.
CODE="$(mktemp)"
trap 'rm -f "$CODE"' EXIT
find "$DIR" -name '*.cs' | sort | while read -r f; do
  awk -v f="$f" '{ line = $0; sub(/^[ \t]*\/\/.*$/, "", line); sub(/[ \t]+\/\/[^"]*$/, "", line); print f ":" NR ":" line }' "$f"
done >"$CODE"

status=0
for pattern in "${PATTERNS[@]}"; do
  if grep -E -- "$pattern" "$CODE"; then
    echo "check-netstandard: the lines above use an API netstandard2.0 lacks (pattern: $pattern)" >&2
    status=1
  fi
done
# Sanity: the check reads real sources.
count=$(find "$DIR" -name '*.cs' | wc -l)
if [ "$count" -lt 5 ]; then echo "check-netstandard: only $count source files in $DIR" >&2; status=1; fi
[ "$status" -eq 0 ] && echo "check-netstandard: $count files, no API outside netstandard2.0 found"
exit "$status"
