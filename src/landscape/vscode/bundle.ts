// Entry of dist/landscape.js: the loss landscape commands, launcher and panel host, required on first use (a
// command, or a landscape panel revived after a reload) so activation does not load them.
export { LandscapeFeature } from './commands';
