// Entry of dist/scaffold.js: the New Model Project flow, the generator's templates and the building blocks
// (~90 KB), required on the first use of one of the two commands so activation does not load them.
export { insertBuildingBlock } from './insertBlock';
export { newProject } from './newProject';
