/* gtpc_names.c - names of the GTP-C message types mcprobe counts (TS 29.060 7.1,
 * TS 29.274 6.1), for --stats and the docs. */
#include <stdint.h>

#include "control/gtpc.h"

const char *mcp_gtpc_msg_name(uint8_t version, uint8_t type)
{
	if (version == 1) {
		switch (type) {
		case 1: return "Echo Request";
		case 2: return "Echo Response";
		case 3: return "Version Not Supported";
		case 16: return "Create PDP Context Request";
		case 17: return "Create PDP Context Response";
		case 18: return "Update PDP Context Request";
		case 19: return "Update PDP Context Response";
		case 20: return "Delete PDP Context Request";
		case 21: return "Delete PDP Context Response";
		case 26: return "Error Indication";
		case 31: return "Supported Extension Headers";
		case 50: return "SGSN Context Request";
		case 51: return "SGSN Context Response";
		case 52: return "SGSN Context Acknowledge";
		}
		return NULL;
	}
	switch (type) {
	case 1: return "Echo Request";
	case 2: return "Echo Response";
	case 3: return "Version Not Supported";
	case 32: return "Create Session Request";
	case 33: return "Create Session Response";
	case 34: return "Modify Bearer Request";
	case 35: return "Modify Bearer Response";
	case 36: return "Delete Session Request";
	case 37: return "Delete Session Response";
	case 95: return "Create Bearer Request";
	case 96: return "Create Bearer Response";
	case 97: return "Update Bearer Request";
	case 98: return "Update Bearer Response";
	case 99: return "Delete Bearer Request";
	case 100: return "Delete Bearer Response";
	case 170: return "Release Access Bearers Request";
	case 171: return "Release Access Bearers Response";
	case 176: return "Downlink Data Notification";
	case 177: return "Downlink Data Notification Ack";
	}
	return NULL;
}
