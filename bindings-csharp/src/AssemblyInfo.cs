using System.Reflection;
using System.Runtime.CompilerServices;

[assembly: AssemblyTitle("IotSec")]
[assembly: AssemblyDescription("Build, validate and send Azure IoT security messages (Defender for IoT) over MQTT")]
[assembly: AssemblyVersion("0.1.0.0")]
[assembly: InternalsVisibleTo("IotSec.Tests")]
