#ifndef CJMD_CLIBPQ_SHIM_H
#define CJMD_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
