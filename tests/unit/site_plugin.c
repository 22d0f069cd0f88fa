/*
 * site_plugin.c - a plugin for test_site_reload: one macro call site, built
 * twice (site_plugin_a, site_plugin_b) with messages and keys of the same
 * lengths, so that the two builds lay the site out alike and a second
 * library mapped where the first was can put its literals at the first's
 * addresses.
 */
#include "spanlog/spanlog.h"

#ifndef PLUGIN_MSG
#error "PLUGIN_MSG and PLUGIN_KEY are set by the build"
#endif

__attribute__((visibility("default"))) void plugin_log(sl_logger *lg, int v);
__attribute__((visibility("default"))) const void *plugin_site(void);

void plugin_log(sl_logger *lg, int v)
{
    sl_info(lg, PLUGIN_MSG, SL_INT(PLUGIN_KEY, v), SL_STR("from", PLUGIN_MSG));
}

/* Where the site's literal message is: the test reports whether the second
 * library reused the first one's addresses. */
const void *plugin_site(void)
{
    return PLUGIN_MSG;
}
