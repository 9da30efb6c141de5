#ifndef CJMD_CNATS_SHIM_H
#define CJMD_CNATS_SHIM_H
#include <nats/nats.h>
#endif
