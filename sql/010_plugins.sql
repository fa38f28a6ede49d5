-- A model of a plugin's strategy records that plugin (its name and version), so it is served only
-- by the plugin that made it and a model whose plugin is not loaded is refused naming the plugin.
-- Built-in strategies' models have neither.
ALTER TABLE trained_models
    ADD COLUMN plugin         text CHECK (plugin <> ''),
    ADD COLUMN plugin_version text,
    ADD CONSTRAINT trained_models_plugin_version CHECK ((plugin IS NULL) = (plugin_version IS NULL));
