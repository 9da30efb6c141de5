// SwiftPM needs one source file in a C target; the header is all this target provides.
#include "LibFuzzerDriver.h"
