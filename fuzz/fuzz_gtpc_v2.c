/* fuzz_gtpc_v2.c - libFuzzer target: GTPv2-C decoder (TS 29.274) plus the session table. */
#define FUZZ_GTPC_VERSION 2
#include "fuzz_gtpc.h"
