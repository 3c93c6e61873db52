/*
 * names.c - see names.h.
 */
#include "util/names.h"

#include <string.h>

bool name_is_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0 || len > NAME_MAX_LEN || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
		if (!ok)
			return false;
	}
	return true;
}
